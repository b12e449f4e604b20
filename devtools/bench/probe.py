"""Run one benchmark case in this interpreter and print its figures as one JSON line.

``python -m devtools.bench.probe CASE '{"arg": ...}'``. Peak RSS is this process's own
high-water mark (``ru_maxrss``), so each measurement's memory is measured on its own. With
``COMPLAINTS_BENCH_PROFILE=<file>`` the case runs under pyinstrument and its profile is written there.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys


def main() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.ERROR)
    from devtools.bench.cases import CASES

    name, arguments = sys.argv[1], json.loads(sys.argv[2])
    profile = os.environ.get("COMPLAINTS_BENCH_PROFILE")
    if profile:  # where the time goes, as pyinstrument's call tree (adds its own overhead)
        from pyinstrument import Profiler

        with Profiler() as profiler:
            figures = CASES[name](**arguments)
        with open(profile, "w", encoding="utf-8") as fh:
            fh.write(profiler.output_text(color=False, show_all=False))
    else:
        figures = CASES[name](**arguments)
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
