"""A new published version reuses the previous one: unchanged tables are kept, the journey is
updated by key, the rest copied, and every version still equals the warehouse.

The warehouse is hand-made (a journey-like incremental table with dbt's bookkeeping columns, a
mart, a dimension): what is tested is publishing, not dbt.
"""

from __future__ import annotations

import json

import duckdb
import pytest

import orchestration.publish
from orchestration.publish import DATABASE_NAME, publish, read_manifest
from orchestration.published_tables import COPIED, DELTA_KEYS, KEPT, UPDATED
from orchestration.resources import prepare_manifest
from trueup.settings import Paths

JOURNEY = "marts.order_journey"


def _sql(paths: Paths, *statements: str) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        for statement in statements:
            con.execute(statement)


@pytest.fixture
def warehouse(paths: Paths) -> Paths:
    """1,000 journeys of 3 events built by code version v1 from loads through day 1."""
    _sql(
        paths,
        "create schema marts",
        "create schema canonical",
        "create table marts.order_journey as select 'C' || (range // 3) as correlation_id, "
        "range % 3 + 1 as event_seq, 'shipped' as event_type, "
        "timestamp '2026-01-01 00:00:00' as _loaded_through, 'v1' as _code_version "
        "from range(3000)",
        "create table marts.rec_a as select range as id, 'open' as status from range(50)",
        "create table canonical.dim_items as select 1 as item_id",
    )
    return paths


def _published(paths: Paths, table: str) -> list[tuple]:
    with duckdb.connect(str(paths.published / DATABASE_NAME), read_only=True) as con:
        return sorted(con.execute(f"select * from {table}").fetchall())


def _warehouse(paths: Paths, table: str, columns: str = "*") -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return sorted(con.execute(f"select {columns} from {table}").fetchall())


def _parquet(paths: Paths, table: str) -> list[tuple]:
    path = paths.published / "parquet" / f"{table}.parquet"
    return sorted(duckdb.sql(f"select * from '{path}'").fetchall())


def _assert_published_equals_warehouse(paths: Paths) -> None:
    journey = "correlation_id, event_seq, event_type"
    assert _published(paths, JOURNEY) == _warehouse(paths, JOURNEY, journey)
    assert _parquet(paths, "order_journey") == _warehouse(paths, JOURNEY, journey)
    for table in ("marts.rec_a", "canonical.dim_items"):
        assert _published(paths, table) == _warehouse(paths, table)
        assert _parquet(paths, table.split(".")[1]) == _warehouse(paths, table)


def test_the_first_version_copies_everything_and_leaves_bookkeeping_out(warehouse: Paths) -> None:
    first = publish(warehouse)
    assert first.based_on is None
    assert set(first.published_as.values()) == {COPIED}
    with duckdb.connect(str(warehouse.published / DATABASE_NAME), read_only=True) as con:
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from (describe marts.order_journey)"
            ).fetchall()
        ]
    assert columns == ["correlation_id", "event_seq", "event_type"]
    _assert_published_equals_warehouse(warehouse)


def test_a_version_with_nothing_new_keeps_every_table_and_links_its_parquet(
    warehouse: Paths,
) -> None:
    first = publish(warehouse)
    second = publish(warehouse)
    assert second.based_on == first.version
    assert set(second.published_as.values()) == {KEPT}
    for table in ("order_journey", "rec_a", "dim_items"):
        old = first.parquet_dir / f"{table}.parquet"
        new = second.parquet_dir / f"{table}.parquet"
        assert new.stat().st_ino == old.stat().st_ino  # one file, two versions
    _assert_published_equals_warehouse(warehouse)
    assert read_manifest(warehouse.published)["row_counts"][JOURNEY] == 3000


def test_the_journey_is_updated_by_key_and_a_changed_mart_copied(warehouse: Paths) -> None:
    publish(warehouse)
    _sql(
        warehouse,
        # dbt rebuilt two journeys from day 2's loads: one gained an event, one changed them all
        "delete from marts.order_journey where correlation_id in ('C1', 'C2')",
        "insert into marts.order_journey select 'C1', range + 1, 'invoiced', "
        "timestamp '2026-01-02 00:00:00', 'v1' from range(4)",
        "insert into marts.order_journey select 'C2', range + 1, 'returned', "
        "timestamp '2026-01-02 00:00:00', 'v1' from range(3)",
        "update marts.rec_a set status = 'resolved' where id < 5",
    )
    second = publish(warehouse)
    assert second.published_as == {
        JOURNEY: UPDATED,
        "marts.rec_a": COPIED,
        "canonical.dim_items": KEPT,
    }
    assert second.row_counts[JOURNEY] == 3000 + 1  # C1 gained one event
    _assert_published_equals_warehouse(warehouse)


def test_a_journey_change_the_watermark_does_not_show_is_still_published(
    warehouse: Paths,
) -> None:
    publish(warehouse)
    # Rows rewritten without a newer _loaded_through: the update by key misses them, the
    # fingerprint check notices, and the table is copied whole.
    _sql(
        warehouse, "update marts.order_journey set event_type = 'lost' where correlation_id = 'C7'"
    )
    second = publish(warehouse)
    assert second.published_as[JOURNEY] == COPIED
    _assert_published_equals_warehouse(warehouse)


def test_a_journey_gone_from_the_warehouse_is_gone_from_the_published_version(
    warehouse: Paths,
) -> None:
    publish(warehouse)
    _sql(warehouse, "delete from marts.order_journey where correlation_id = 'C3'")
    second = publish(warehouse)
    assert second.published_as[JOURNEY] == COPIED  # the update by key leaves it; the check sees
    assert second.row_counts[JOURNEY] == 3000 - 3
    _assert_published_equals_warehouse(warehouse)


def test_another_code_version_copies_the_journey_whole(warehouse: Paths) -> None:
    publish(warehouse)
    _sql(
        warehouse,
        "update marts.order_journey set _code_version = 'v2', event_type = 'rebuilt'",
    )
    second = publish(warehouse)
    assert second.published_as[JOURNEY] == COPIED
    _assert_published_equals_warehouse(warehouse)


def test_versions_in_which_every_table_changed_do_not_grow_the_file(warehouse: Paths) -> None:
    first = publish(warehouse)
    sizes = []
    for version in range(4):
        _sql(
            warehouse,
            f"update marts.order_journey set event_type = 'v{version}', _code_version = 'v{version}'",
            f"update marts.rec_a set status = 'v{version}'",
            f"update canonical.dim_items set item_id = {version + 2}",
        )
        again = publish(warehouse)
        assert set(again.published_as.values()) == {COPIED}
        assert again.based_on == again.version - 1  # still built from the previous version
        sizes.append((warehouse.published / DATABASE_NAME).stat().st_size)
    # At most one DuckDB block (256 KiB) of slack over a whole build, however many versions.
    assert max(sizes) <= first.full_build_bytes + 256 * 1024, sizes
    _assert_published_equals_warehouse(warehouse)


def test_a_dropped_model_leaves_the_next_version(warehouse: Paths) -> None:
    publish(warehouse)
    _sql(warehouse, "drop table marts.rec_a")
    second = publish(warehouse)
    assert "marts.rec_a" not in second.row_counts
    with duckdb.connect(str(warehouse.published / DATABASE_NAME), read_only=True) as con:
        names = {
            t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
    assert "rec_a" not in names
    assert not (second.parquet_dir / "rec_a.parquet").exists()


def test_a_file_grown_past_its_limit_is_built_whole_again(
    warehouse: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(warehouse)
    monkeypatch.setattr(orchestration.publish, "MAX_GROWTH", 0.5)
    second = publish(warehouse)
    assert second.based_on is None
    assert set(second.published_as.values()) == {COPIED}
    assert second.full_build_bytes == (warehouse.published / DATABASE_NAME).stat().st_size
    _assert_published_equals_warehouse(warehouse)


def test_every_table_updated_by_key_is_an_incremental_model_on_that_key() -> None:
    # DELTA_KEYS restates dbt's config: if a model changed its key, updating by the old one
    # would only ever fall back to whole copies.
    nodes = json.loads(prepare_manifest().read_text())["nodes"]
    for name, key in DELTA_KEYS.items():
        config = nodes[f"model.trueup.{name.split('.')[1]}"]["config"]
        assert (config["materialized"], config["unique_key"]) == ("incremental", key), name
