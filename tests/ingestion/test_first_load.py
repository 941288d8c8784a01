"""A first load into an empty merge table appends when, and only when, that gives the same table.

Each case runs a one-resource source through the real runner (extract, the switch, normalize,
load) and reads the warehouse: whether dlt's staging copy was made, and what the table holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dlt
import pyarrow as pa
import pytest
from dlt.common.storages.load_package import PackageStorage

from ingestion.first_load import STASH
from ingestion.pipeline import make_pipeline, run_ingest
from trueup.settings import Paths

SOURCE = "firstload"


def _load(paths: Paths, table: pa.Table, **hints: object) -> None:
    @dlt.resource(
        name="items", write_disposition="merge", primary_key="id", file_format="parquet", **hints
    )
    def items():
        yield table

    def build(run):
        run.tables("items", "items")
        run.read("items", table.num_rows)
        return items

    run_ingest(SOURCE, build, paths=paths, check=False)


def _staged(warehouse: Callable[[str], list[tuple]]) -> set[str]:
    return {
        r[0]
        for r in warehouse(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = 'raw_{SOURCE}_staging'"
        )
    }


def test_unique_keys_into_an_empty_table_are_appended_and_the_next_load_merges(
    paths: Paths, warehouse
) -> None:
    _load(paths, pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    assert "items" not in _staged(warehouse)
    assert warehouse(f"SELECT id, v FROM raw_{SOURCE}.items ORDER BY id") == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
    ]
    _load(paths, pa.table({"id": [2, 4], "v": ["B", "d"]}))
    assert "items" in _staged(warehouse)  # rows exist now: merged, 2 replaced
    assert warehouse(f"SELECT id, v FROM raw_{SOURCE}.items ORDER BY id") == [
        (1, "a"),
        (2, "B"),
        (3, "c"),
        (4, "d"),
    ]


def test_a_key_read_twice_in_a_first_load_is_merged_not_duplicated(paths: Paths, warehouse) -> None:
    # An API walked by updated_at returns a record twice when it changes during the walk.
    _load(
        paths,
        pa.table({"id": [1, 2, 1], "v": ["old", "b", "new"], "at": [1, 2, 3]}),
        columns={"at": {"dedup_sort": "desc"}},
    )
    assert "items" in _staged(warehouse)
    assert warehouse(f"SELECT id, v FROM raw_{SOURCE}.items ORDER BY id") == [
        (1, "new"),
        (2, "b"),
    ]


def test_tombstones_of_a_first_load_delete_instead_of_landing_as_rows(
    paths: Paths, warehouse
) -> None:
    _load(
        paths,
        pa.table({"id": [1, 2], "v": ["a", None], "gone": [False, True]}),
        columns={"gone": {"data_type": "bool", "hard_delete": True}},
    )
    assert "items" in _staged(warehouse)
    assert warehouse(f"SELECT id FROM raw_{SOURCE}.items") == [(1,)]


def test_child_rows_without_tombstones_are_appended_on_a_first_load(
    paths: Paths, warehouse
) -> None:
    # The JSON sources' child tables: merged by root id, no primary key, a tombstone column
    # that is only ever set once the table has been loaded.
    @dlt.resource(
        name="items",
        write_disposition="merge",
        merge_key="root",
        file_format="parquet",
        columns={"gone": {"data_type": "bool", "hard_delete": True}},
    )
    def children():
        yield pa.table({"root": ["r1", "r1", "r2"], "v": [1, 2, 3], "gone": [False] * 3})

    def build(run):
        run.tables("items", "items")
        run.read("items", 3)
        return children

    run_ingest(SOURCE, build, paths=paths, check=False)
    assert "items" not in _staged(warehouse)
    assert warehouse(f"SELECT root, v FROM raw_{SOURCE}.items ORDER BY v") == [
        ("r1", 1),
        ("r1", 2),
        ("r2", 3),
    ]


def test_merge_only_hints_are_set_aside_for_the_append_and_work_again_on_the_next_load(
    paths: Paths, warehouse
) -> None:
    # dlt warns about every merge-only hint an append carries; the switch must not make a
    # first load noisy, nor lose the hints the following merges need.
    heard: list[str] = []

    class Heard(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record.getMessage())

    hints = {"seq": {"dedup_sort": "desc"}, "gone": {"data_type": "bool", "hard_delete": True}}
    listener = Heard(logging.WARNING)
    logging.getLogger("dlt").addHandler(listener)
    try:
        _load(paths, pa.table({"id": [1, 2], "seq": [1, 1], "gone": [False, False]}), columns=hints)
    finally:
        logging.getLogger("dlt").removeHandler(listener)
    assert "items" not in _staged(warehouse)
    assert not [m for m in heard if "will be ignored" in m]

    _load(
        paths,
        pa.table({"id": [1, 1, 2], "seq": [3, 2, 2], "gone": [False, False, True]}),
        columns=hints,
    )
    assert warehouse(f"SELECT id, seq FROM raw_{SOURCE}.items") == [(1, 3)]


def test_a_switch_that_fails_to_save_gives_the_tables_their_merge_back(
    paths: Paths, warehouse, monkeypatch
) -> None:
    # The switched schema is saved to the pipeline, then into the extracted package, and that
    # second save fails (a full disk): the run fails, and the tables must not stay switched to
    # append for the loads after it, nor lose their merge-only hints.
    original = PackageStorage.save_schema
    failed: list[bool] = []

    def save_failing_once(self, load_id, schema, *args, **kwargs):
        switched = any(STASH in table for table in schema.tables.values())
        if switched and not failed:
            failed.append(True)
            raise OSError("No space left on device")
        return original(self, load_id, schema, *args, **kwargs)

    monkeypatch.setattr(PackageStorage, "save_schema", save_failing_once)
    hints = {"gone": {"data_type": "bool", "hard_delete": True}}
    with pytest.raises(OSError, match="No space left"):
        _load(paths, pa.table({"id": [1, 2], "gone": [False, False]}), columns=hints)
    assert failed

    stored = make_pipeline(SOURCE, paths).default_schema.tables["items"]
    assert stored["write_disposition"] == "merge"
    assert stored["columns"]["gone"].get("hard_delete") is True
    assert STASH not in stored
    # The next run loads the pending package as a merge, then its own: the tombstone deletes.
    _load(paths, pa.table({"id": [2, 3], "gone": [True, False]}), columns=hints)
    assert warehouse(f"SELECT id FROM raw_{SOURCE}.items ORDER BY id") == [(1,), (3,)]
