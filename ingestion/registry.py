"""Every source trueup can ingest: one entry each.

An entry maps a source name to ``"module:function"``. The function builds the source's dlt
resources for one run::

    def build_source(run: IngestRun, paths: Paths, **options) -> DltSource | list[DltResource]

It reads its settings with :mod:`ingestion.config`, yields pyarrow tables, and reports to
``run`` (``run.read``, ``run.reject``, ``run.skip_duplicates``, ``run.tables``);
:func:`ingestion.pipeline.run_ingest` does the rest. Modules are imported only when their source
runs, so ``trueup --help`` stays instant and one broken source cannot stop the others.
"""

from __future__ import annotations

import importlib
from typing import Any

from ingestion.http_client import stop_simulators
from ingestion.pipeline import IngestResult, Progress, run_ingest
from trueup.settings import Paths

SOURCES: dict[str, str] = {
    "erp": "ingestion.erp:build_source",
    "wms": "ingestion.wms:build_source",
    "shopify": "ingestion.shopify:build_source",
    "carrier": "ingestion.carrier:build_source",
    "edi": "ingestion.edi:build_source",
    "amazon": "ingestion.amazon:build_source",
}


class SourceNotAvailable(LookupError):
    """The source is registered but its module is not written (or not installed) yet."""


def builder(name: str) -> Any:
    """Import and return the builder function of a registered source.

    Args:
        name: Registered source name.

    Returns:
        The ``build_source`` callable.

    Raises:
        KeyError: The name is not registered.
        SourceNotAvailable: The registered module does not exist.
    """
    module_name, _, function = SOURCES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise SourceNotAvailable(f"{name}: module {module_name} not found") from exc
        raise
    return getattr(module, function)


def ingest(
    name: str,
    *,
    paths: Paths | None = None,
    progress: Progress | None = None,
    check: bool = True,
    **options: Any,
) -> IngestResult:
    """Run one registered source against its configured system.

    Args:
        name: Registered source name.
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.
        progress: Called with progress lines.
        check: Raise ``ConservationError`` when counts do not balance.
        **options: Passed to the source's builder (e.g. ``table_names`` for the ERP).

    Returns:
        The run's per-resource counts.
    """
    paths = paths or Paths.from_env()
    build = builder(name)
    try:
        return run_ingest(
            name,
            lambda run: build(run, paths, **options),
            paths=paths,
            progress=progress,
            check=check,
        )
    finally:
        # A simulated API server started for this source stops with it: it maps its stores
        # (gigabytes at 10M order lines), and a run goes on to dbt for minutes.
        stop_simulators()
