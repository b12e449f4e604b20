"""Great Expectations Data Docs of every batch validation, in ``<data dir>/data-docs/``.

The site is GX's own (``SiteBuilder``, ``DefaultSiteIndexBuilder``, the validation result
page renderer); this module only configures it and decides the identifiers:

* stores on disk under ``<data dir>/gx/`` -- ``validations/`` holds every validation result
  (JSON), ``expectations/`` each channel's current suite -- so the site accumulates across
  ingest runs and processes (every daily DAG run is its own process). The context itself is
  ephemeral: no ``great_expectations.yml`` is written or shared between processes.
* a result is keyed ``complaints_<channel> / <source part> / <validation time> / <batch id>``:
  the suite names the channel, the run name is the file name or the interval (made safe for a
  file name), and the batch identifier is the ingest ledger's ``batch_id`` -- the key of
  ``ingest_batch`` and ``quarantine`` in the warehouse. Re-validating a batch (a retry, a
  re-run of an interval) *replaces* its earlier result and page, as the warehouse replaces
  the batch's quarantine rows and ledger row; a corrected file delivered under the same name
  has another checksum, hence another batch id, and is *added* beside the first one.
* the page of a validation is rendered right after it (that one page, a few tens of ms);
  the index, which GX builds by reading every stored result, is rebuilt once per ingest run
  by :func:`build_data_docs` (``complaints.ingest.ingest_channel`` calls it after its batches).

The index is GX's, with one documented customisation (a ``renderer`` class in the site
index builder's config): the table of validation runs is plain HTML listing, per run, the
channel, the source part (linking to the run's page), the batch id and each failed
expectation with its count and a few offending values; GX's default table lists only a
pass/fail icon and is drawn by JavaScript from public CDNs, so it stays empty on an offline
machine. The pages still load GX's styles from those CDNs when they can, and are readable
without them. On a run's page each failed expectation shows every unexpected value with
the ``source_id`` and position (``row``) of its rows.

No free text and no pseudonym reaches GX (see :mod:`complaints.validation`): the unexpected
values are codes, dates, coordinates and mojibake flags, and the site holds no personal data.
"""

from __future__ import annotations

import copy
import fcntl
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complaints.paths import data_dir as default_data_dir
from complaints.thai_time import BANGKOK

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.render.renderer.site_builder import SiteBuilder

SITE_NAME = "complaints"
DOCS_DIR_NAME = "data-docs"
STORES_DIR_NAME = "gx"
INDEX_RENDERER = "ComplaintsIndexPageRenderer"  # see __getattr__ at the end
SAMPLE_VALUES = 5  # offending values listed per failed expectation in the index
INDEX_ONLY = "__no_such_suite__"  # names no resource: a build that renders only what else is listed
# The index lists the most recent runs only: GX reads every listed result to build it (about
# 2 ms each), and this is about a year of daily runs of every channel. Older pages stay on disk
# (validations/<suite>/<source part>/...) and their links keep working.
INDEX_LIMIT = 2000


@dataclass(frozen=True)
class DataDocsPage:
    path: Path  # the HTML file
    url: str  # file:// URL of the same file, as GX reports it


def docs_dir(data_dir: Path | None = None) -> Path:
    """Root of the static site (``index.html``); publish or serve this folder as it is."""
    return Path(data_dir or default_data_dir()) / DOCS_DIR_NAME


def stores_dir(data_dir: Path | None = None) -> Path:
    """GX's stores: validation results and expectation suites (JSON)."""
    return Path(data_dir or default_data_dir()) / STORES_DIR_NAME


def run_name_for(source_part: str) -> str:
    """``source_part`` fit to be one path segment on any file system (no ``/``, ``:``...)."""
    name = re.sub(r"[^\w.+-]+", "_", source_part.replace(":", ""), flags=re.ASCII).strip("._")
    return name[:150] or "batch"


def _filesystem_backend(base_directory: Path) -> dict[str, Any]:
    return {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": str(base_directory),
        "suppress_store_backend_id": True,
    }


@dataclass(frozen=True)
class _Docs:
    context: EphemeralDataContext
    site: SiteBuilder


@cache
def _docs(root: Path) -> _Docs:
    """One context and one site builder per data directory and process.

    The context is ephemeral (stores on disk, no datasource, no config file). The site builder
    is GX's ``SiteBuilder`` for the context's one site, kept for the process: building one per
    page, as ``context.build_data_docs`` does, compiles GX's Jinja templates again every time
    (most of a 0.1 s page build).
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig
    from great_expectations.render.renderer.site_builder import SiteBuilder

    in_memory = {"class_name": "InMemoryStoreBackend"}
    site_config: dict[str, Any] = {
        "show_how_to_buttons": False,
        "store_backend": _filesystem_backend(docs_dir(root)),
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "validation_results_limit": INDEX_LIMIT,
            "renderer": {"module_name": __name__, "class_name": INDEX_RENDERER},
        },
        "site_section_builders": {
            "profiling": "None",
            # GX hides runs whose name contains "profiling" by default; ours are file names.
            "validations": {"run_name_filter": {"matches_regex": "."}},
        },
    }
    config = DataContextConfig(
        stores={
            "expectations_store": {
                "class_name": "ExpectationsStore",
                "store_backend": _filesystem_backend(stores_dir(root) / "expectations"),
            },
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": _filesystem_backend(stores_dir(root) / "validations"),
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": in_memory},
            "validation_definition_store": {"class_name": "ValidationDefinitionStore", "store_backend": in_memory},
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={SITE_NAME: {"class_name": "SiteBuilder", **copy.deepcopy(site_config)}},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    return _Docs(context, SiteBuilder(data_context=context, site_name=SITE_NAME, **site_config))


def _path_of(url: str) -> Path:
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path))


def _remove(path: Path, stop: Path) -> None:
    """Delete ``path`` and the directories above it that it leaves empty, up to ``stop``."""
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != stop and stop in folder.parents and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _short(value: Any) -> str:
    if value is None or value != value:  # None, NaN, NaT: a missing value
        return "null"
    if isinstance(value, (list, tuple)):
        return " / ".join(_short(v) for v in value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def failed_expectations(result: ExpectationSuiteValidationResult) -> dict[str, dict[str, Any]]:
    """What failed, for the index and the page's batch spec: by reason, the column(s), the
    number of rows and a few distinct offending values (the page lists them all). The counts of
    unmapped values (meta kind "unmapped", see complaints.validation) are listed whenever a row
    has one, also within their threshold: the raw labels are the crosswalk lines to add."""
    failed: dict[str, dict[str, Any]] = {}
    for item in result.results:
        config = item.expectation_config
        counted = (config.meta or {}).get("kind") == "unmapped" and (item.result or {}).get("unexpected_count")
        if item.success and not counted:
            continue
        kwargs = config.kwargs
        details = item.result or {}
        values: list[str] = []  # distinct, in order of appearance
        for value in details.get("unexpected_list") or details.get("partial_unexpected_list") or []:
            if _short(value) not in values:
                values.append(_short(value))
        reason = (config.meta or {}).get("reason") or config.type
        if item.success:
            reason += " (within its threshold)"
        while reason in failed:
            reason += " (again)"
        failed[reason] = {
            "column": kwargs.get("column") or " > ".join(str(kwargs.get(k)) for k in ("column_A", "column_B")),
            "rows": details.get("unexpected_count") or 0,
            "values": ", ".join(values[:SAMPLE_VALUES]) + (", …" if len(values) > SAMPLE_VALUES else ""),
        }
    return failed


def record_validation(
    result: ExpectationSuiteValidationResult,
    *,
    channel: str,
    batch_id: str,
    source_part: str,
    data_dir: Path | None = None,
    rows: int | None = None,
) -> DataDocsPage:
    """Store ``result`` and render its page; earlier results of the same batch are removed."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.store.html_site_store import SiteSectionIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    root = Path(data_dir or default_data_dir()).resolve()
    docs = _docs(root)
    suite_id = ExpectationSuiteIdentifier(name=result.suite_name)
    run_name = run_name_for(source_part)
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    key = ValidationResultIdentifier(expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=batch_id)

    # What ValidationDefinition.run records, plus what the page and the index show of the batch
    # (the index builder hands a result's batch_spec, and not the rest of it, to the renderer).
    result.meta["run_id"] = run_id
    result.meta["validation_time"] = run_id.run_time
    result.meta["batch_spec"] = {
        "data_asset_name": channel,
        "source_part": source_part,
        "batch_id": batch_id,
        "rows_validated": rows,
        "failed_expectations": failed_expectations(result),
        "batch_data": "PandasDataFrame",
    }

    store = docs.context.validation_results_store
    backend = store.store_backend
    for earlier in backend.list_keys(prefix=(result.suite_name, run_name)):
        if earlier[-1] == batch_id:  # an earlier validation of this batch: replaced
            earlier_page = docs.site.get_resource_url(ValidationResultIdentifier.from_tuple(earlier), False)
            _remove(Path(backend.full_base_directory, *earlier[:-1], f"{earlier[-1]}.json"), stores_dir(root))
            _remove(_path_of(str(earlier_page)), docs_dir(root))
    store.store_validation_results(result, key, suite_id)

    # The page, as GX's validations section builder renders it -- for this one result, without
    # listing every stored result first as its build() does.
    section = docs.site.site_section_builders["validations"]
    html = section.view_class.render(
        section.renderer_class.render(store.get(key)),
        data_context_id=section.data_context_id,
        show_how_to_buttons=section.show_how_to_buttons,
    )
    section.target_store.set(SiteSectionIdentifier(site_section_name="validations", resource_identifier=key), html)
    url = str(docs.site.get_resource_url(key, only_if_exists=False))
    return DataDocsPage(_path_of(url), url)


@contextmanager
def _site_lock(root: Path) -> Iterator[None]:
    """Serialise index builds of concurrent DAG runs sharing the data directory."""
    path = stores_dir(root) / ".index.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_data_docs(
    suites: Iterable[ExpectationSuite], data_dir: Path | None = None, *, all_pages: bool = False
) -> Path:
    """Refresh the given suites' pages and rebuild the index from every stored result.

    The caller builds the suites (``complaints.validation.build_suite``): this module renders
    what validation produced and never imports it back.

    Validation pages are not rendered again (:func:`record_validation` did), unless
    ``all_pages`` (after a GX upgrade, say). GX's index builder drops pages whose result is
    gone from the store. Returns the path of ``index.html``.
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    root = Path(data_dir or default_data_dir()).resolve()
    docs = _docs(root)
    # GX renders the pages of the resources named here, every page when none is named.
    resources = [ExpectationSuiteIdentifier(name=INDEX_ONLY)]
    with _site_lock(root):
        for suite in suites:
            stored = docs.context.suites.add_or_update(suite)
            resources.append(ExpectationSuiteIdentifier(name=stored.name))
        index_url, _ = docs.site.build(resource_identifiers=None if all_pages else resources, build_index=True)
    return _path_of(str(index_url))


def _index_renderer() -> type:
    """GX's SiteIndexPageRenderer with plain-HTML tables (see the module doc)."""
    from html import escape

    from great_expectations.render import RenderedStringTemplateContent, RenderedTableContent
    from great_expectations.render.renderer.site_index_page_renderer import SiteIndexPageRenderer

    def link(text: str, href: str) -> RenderedStringTemplateContent:
        return RenderedStringTemplateContent(
            content_block_type="string_template",
            string_template={
                "template": "$text",
                "params": {"text": text},  # GX escapes params
                "tag": "a",
                "styling": {"attributes": {"href": href}},
            },
        )

    def failures_cell(failed: dict[str, dict[str, Any]]) -> str:
        lines = []
        for reason, f in failed.items():
            rows = f"{f['rows']} row" + ("" if f["rows"] == 1 else "s")
            lines.append(
                f"{escape(reason)} <small>({escape(str(f['column']))}, {rows}: "
                f"<code>{escape(str(f['values']))}</code>)</small>"
            )
        return "<br>".join(lines)

    def table(header: list[str], rows: list[list[Any]]) -> RenderedTableContent:
        return RenderedTableContent(
            header_row=header,
            table=rows,
            table_options={"search": "true", "pagination": "true", "page-size": "50"},
            header_row_options={h: {"sortable": "true"} for h in header},
            styling={"classes": ["col-12", "ge-index-page-table-container"], "body": {"classes": ["table-sm"]}},
        )

    class ComplaintsIndexPageRenderer(SiteIndexPageRenderer):
        @classmethod
        def _generate_validation_results_link_table(cls, index_links_dict: dict[str, Any]) -> RenderedTableContent:
            rows = []
            for link_dict in index_links_dict.get("validations_links", []):  # newest first
                spec = link_dict.get("batch_spec") or {}
                run_time = link_dict.get("run_time")
                when = run_time.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M") if run_time else ""
                failed = spec.get("failed_expectations") or {}
                rows.append(
                    [
                        "passed" if link_dict.get("validation_success") else f"<strong>failed ({len(failed)})</strong>",
                        escape(when),
                        escape(str(spec.get("data_asset_name") or link_dict.get("asset_name") or "")),
                        link(str(spec.get("source_part") or link_dict.get("run_name")), link_dict["filepath"]),
                        f"<code>{escape(str(link_dict.get('batch_identifier')))}</code>",
                        escape(str(spec.get("rows_validated") or "")),
                        failures_cell(failed),
                    ]
                )
            header = ["Status", "Validated (Bangkok)", "Channel", "Source part", "Batch id", "Rows", "Failed"]
            return table(header, rows)

        @classmethod
        def _generate_expectation_suites_link_table(cls, index_links_dict: dict[str, Any]) -> RenderedTableContent:
            rows = [
                [link(d["expectation_suite_name"], d["filepath"])]
                for d in index_links_dict.get("expectations_links", [])
            ]
            return table(["Expectation suite"], rows)

    return ComplaintsIndexPageRenderer


def __getattr__(name: str) -> Any:
    # GX loads the index renderer by module and class name; it is built on first use so that
    # importing this module does not import Great Expectations.
    if name == INDEX_RENDERER:
        renderer = _index_renderer()
        globals()[name] = renderer
        return renderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
