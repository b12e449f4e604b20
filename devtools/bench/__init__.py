"""The benchmark suite (``make bench``): synthetic data at scale, timed side by side with references.

Not part of the test suite: speed targets are checked here, never by timed unit tests. Every
measurement runs in its own interpreter (:mod:`devtools.bench.probe`) so its peak RSS is its own.
"""
