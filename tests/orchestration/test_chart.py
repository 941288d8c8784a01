"""The open-exceptions chart renders from a small queue and embeds in Markdown metadata."""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest

from orchestration.charts import (
    AGE_BUCKETS,
    age_bucket,
    markdown_image,
    open_by_type_and_age,
    render_chart,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def queue() -> pd.DataFrame:
    """Three types, every age bucket touched, one resolved row that must not count."""
    return pd.DataFrame(
        {
            "exception_type": [
                "shipped_not_invoiced",
                "shipped_not_invoiced",
                "shipped_not_invoiced",
                "invoice_price_variance",
                "invoice_price_variance",
                "unapplied_cash",
                "unapplied_cash",
            ],
            "status": ["open", "open", "open", "open", "resolved", "open", "open"],
            "age_hours": [2.0, 30.0, 100.0, 200.0, 5.0, 1000.0, None],
        }
    )


@pytest.mark.parametrize(
    ("hours", "bucket"),
    [(0, "< 1 day"), (23.9, "< 1 day"), (24, "1-3 days"), (100, "3-7 days"), (719, "7-30 days")],
)
def test_age_buckets_are_half_open_day_ranges(hours: float, bucket: str) -> None:
    assert age_bucket(hours) == bucket


def test_an_unknown_age_counts_as_the_youngest_bucket() -> None:
    assert age_bucket(None) == AGE_BUCKETS[0][0]
    assert age_bucket(float("nan")) == AGE_BUCKETS[0][0]


def test_only_open_exceptions_are_counted_by_type_and_age(queue: pd.DataFrame) -> None:
    table = open_by_type_and_age(queue)
    assert list(table.columns) == [label for label, _ in AGE_BUCKETS]
    assert table.loc["shipped_not_invoiced"].tolist() == [1, 1, 1, 0, 0]
    assert table.loc["invoice_price_variance"].tolist() == [0, 0, 0, 1, 0]  # resolved one left out
    assert table.loc["unapplied_cash"].tolist() == [1, 0, 0, 0, 1]
    assert table.index[-1] == "shipped_not_invoiced"  # largest on top of the bar chart


def test_the_chart_renders_as_a_png(queue: pd.DataFrame) -> None:
    png = render_chart(queue)
    assert png.startswith(PNG_SIGNATURE)
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 100 and image.shape[1] > 300


def test_an_empty_queue_still_renders_a_chart() -> None:
    empty = pd.DataFrame({"exception_type": [], "status": [], "age_hours": []})
    assert render_chart(empty).startswith(PNG_SIGNATURE)


def test_the_markdown_embeds_the_png_as_a_data_uri(queue: pd.DataFrame) -> None:
    png = render_chart(queue)
    markdown = markdown_image(png)
    assert markdown.startswith("![open exceptions by type and age](data:image/png;base64,")
    payload = markdown.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(payload) == png
    assert len(png) < 200_000  # small enough to keep in the event log of every run
