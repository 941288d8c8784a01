"""Nested values in files (a tracking event's location) reach every warehouse as JSON text."""

from __future__ import annotations

import json

import pyarrow as pa

from ingestion.files import nested_as_json


def test_struct_and_list_columns_become_compact_json_text_and_nulls_stay_null() -> None:
    table = pa.table(
        {
            "id": ["e1", "e2"],
            "tracking_location": [{"city": "Reno", "zip": "89501"}, None],
            "scans": [[1, 2], []],
        }
    )

    flat = nested_as_json(table)

    assert flat.schema.field("tracking_location").type == pa.string()
    assert flat.schema.field("scans").type == pa.string()
    assert json.loads(flat.column("tracking_location")[0].as_py()) == {
        "city": "Reno",
        "zip": "89501",
    }
    assert flat.column("tracking_location")[1].as_py() is None
    assert flat.column("scans").to_pylist() == ["[1,2]", "[]"]
    assert flat.column("id").to_pylist() == ["e1", "e2"]  # flat columns untouched


def test_structs_of_text_encode_column_wise_exactly_as_row_by_row() -> None:
    from ingestion.files import _rows_json

    awkward = [
        "Reno",
        'say "hi"',
        "back\\slash",
        "tab\there",
        "Zürich",
        "line\nbreak",
        "",
        None,
        "del\x7f",
    ]
    rows = [
        None if i % 7 == 3 else {"city": awkward[i % 9], "zip": awkward[(i * 3) % 9]}
        for i in range(64)
    ]
    column = pa.array(rows, pa.struct([("city", pa.string()), ("zip", pa.string())]))
    # a slice too: children of a sliced struct start at its offset
    for values in (column, column.slice(5, 40)):
        table = pa.table({"loc": values})

        text = nested_as_json(table).column("loc").to_pylist()

        assert text == _rows_json(values).to_pylist()
        assert text == [
            None if v is None else json.dumps(v, separators=(",", ":")) for v in values.to_pylist()
        ]
        assert [None if t is None else json.loads(t) for t in text] == values.to_pylist()
