"""The open-exceptions chart: open exceptions by type and age, on the exception-queue asset.

Rendered with matplotlib's Agg backend (no display; Dagster steps run headless), saved under the
data directory and embedded in the asset's metadata as a Markdown image with a base64 data URI,
so the Dagster UI shows it without serving any file.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from trueup.settings import Paths

logger = logging.getLogger(__name__)

CHART_FILE = "open_exceptions_by_age.png"
# Upper bounds in hours, open-ended last. Days, not hours, are how finance talks about ageing.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 day", 24),
    ("1-3 days", 72),
    ("3-7 days", 168),
    ("7-30 days", 720),
    ("> 30 days", float("inf")),
)
# Colours from young (light) to old (dark): the eye reads the dark end of a bar as the problem.
_BUCKET_COLOURS = ("#c6dbef", "#6baed6", "#3182bd", "#08519c", "#08306b")


def age_bucket(age_hours: float | None) -> str:
    """The age bucket label of an exception ``age_hours`` old (unknown ages count as youngest)."""
    hours = 0.0 if age_hours is None or pd.isna(age_hours) else float(age_hours)
    for label, upper in AGE_BUCKETS:
        if hours < upper:
            return label
    return AGE_BUCKETS[-1][0]


def open_by_type_and_age(exceptions: pd.DataFrame) -> pd.DataFrame:
    """Count open exceptions per type (rows) and age bucket (columns, youngest first).

    Args:
        exceptions: Rows of ``marts.exceptions`` with ``exception_type``, ``status`` and
            ``age_hours``.

    Returns:
        A count table; types ordered by total, largest last (the top of a horizontal bar chart).
    """
    labels = [label for label, _ in AGE_BUCKETS]
    open_rows = exceptions[exceptions["status"] == "open"]
    if open_rows.empty:
        return pd.DataFrame(columns=labels, dtype="int64")
    buckets = open_rows["age_hours"].map(age_bucket)
    table = pd.crosstab(open_rows["exception_type"].astype(str), buckets)
    table = table.reindex(columns=labels, fill_value=0).astype("int64")
    return table.loc[table.sum(axis=1).sort_values(kind="stable").index]


def render_chart(
    exceptions: pd.DataFrame, *, title: str = "Open exceptions by type and age"
) -> bytes:
    """PNG bytes of a stacked horizontal bar chart of open exceptions by type and age bucket."""
    import matplotlib

    # Agg before pyplot is imported: no display server in a Dagster step or CI.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = open_by_type_and_age(exceptions)
    height = max(2.5, 0.35 * len(table) + 1.5)
    fig, ax = plt.subplots(figsize=(9, height), dpi=90)
    try:
        if table.empty:
            ax.text(0.5, 0.5, "No open exceptions", ha="center", va="center", fontsize=12)
            ax.set_axis_off()
        else:
            left = pd.Series(0, index=table.index, dtype="int64")
            for label, colour in zip(table.columns, _BUCKET_COLOURS, strict=True):
                ax.barh(table.index, table[label], left=left, color=colour, label=label)
                left = left + table[label]
            for y, total in enumerate(left):
                ax.annotate(f" {total}", (total, y), va="center", fontsize=8)
            ax.set_xlabel("open exceptions")
            ax.set_xlim(0, max(1, int(left.max())) * 1.08)  # room for the totals at the bar ends
            # Under the plot: inside it, the legend hides the longest (most important) bars.
            ax.legend(
                title="age",
                loc="upper center",
                bbox_to_anchor=(0.5, -0.12),
                ncols=len(AGE_BUCKETS),
                fontsize=8,
                title_fontsize=8,
                frameon=False,
            )
            ax.grid(axis="x", alpha=0.3)
            ax.tick_params(axis="y", labelsize=8)
        ax.set_title(title)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        # pyplot keeps every figure alive until closed: a long-running code server would leak.
        plt.close(fig)
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str = "open exceptions by type and age") -> str:
    """Markdown embedding ``png`` as a data URI (what ``MetadataValue.md`` renders in the UI)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def chart_path(paths: Paths) -> Path:
    """Where the latest chart is saved under the data directory."""
    return paths.root / "charts" / CHART_FILE


def exception_chart_metadata(paths: Paths) -> dict[str, Any]:
    """Chart metadata for the exception-queue asset: the embedded image and the saved file.

    A chart that fails to render is logged and left out: it must never fail the dbt step whose
    models and tests already succeeded.
    """
    import dagster as dg

    from orchestration.resources import existing_tables, query

    if ("marts", "exceptions") not in existing_tables(paths):
        return {}
    try:
        rows = query(
            paths,
            "select exception_type, status, age_hours from marts.exceptions where status = 'open'",
        )
        frame = pd.DataFrame(rows, columns=["exception_type", "status", "age_hours"])
        png = render_chart(frame)
        path = chart_path(paths)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(png)
        tmp.replace(path)  # a viewer never opens a half-written PNG
    except Exception:
        logger.exception("could not render the open-exceptions chart")
        return {}
    return {
        "open_exceptions_chart": dg.MetadataValue.md(markdown_image(png)),
        "open_exceptions_chart_file": dg.MetadataValue.path(str(path)),
    }
