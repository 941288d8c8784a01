"""The SQLite bulk writer stores what the ``sqlite3`` module stored for the same values."""

import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.timing import iso_column
from simulator.writers.sqlstore import SqliteStore

DDL = ["CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, x REAL, flag INTEGER, at TEXT, cur TEXT)"]
EXPECTED = [
    ("a", 1, 1.5, 1, "2026-01-01T00:00:00Z", "USD", "text", "integer", "real", "integer"),
    ("b", 2, None, 0, "2026-01-01T00:00:01Z", "USD", "text", "integer", "null", "integer"),
    (None, 3, 2.0, 1, "2026-01-01T00:00:02Z", "USD", "null", "integer", "real", "integer"),
]
QUERY = "SELECT id, n, x, flag, at, cur, typeof(id), typeof(n), typeof(x), typeof(flag) FROM t"


def _rows(path):
    with sqlite3.connect(path) as con:
        return con.execute(QUERY + " ORDER BY n").fetchall()


def test_a_dict_of_columns_stores_what_the_same_frame_stores(tmp_path):
    columns = {
        "id": pd.Series(["a", "b", None], index=[7, 8, 9]),  # by position, not by index
        "n": np.array([1, 2, 3]),
        "x": np.array([1.5, np.nan, 2.0]),  # NaN is NULL
        "flag": np.array([True, False, True]),  # booleans as 0/1, as sqlite3 stored them
        "at": iso_column(np.array([0, 1, 2]) + 1_767_225_600),
        "cur": "USD",  # one value for every row
    }
    from_dict = SqliteStore(tmp_path / "dict.sqlite", DDL)
    from_dict.append("t", columns)
    assert from_dict.finish() == {"t": 3}
    frame = pd.DataFrame(
        {k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in columns.items()}
    )
    from_frame = SqliteStore(tmp_path / "frame.sqlite", DDL)
    from_frame.append("t", frame)
    from_frame.finish()
    assert _rows(tmp_path / "dict.sqlite") == EXPECTED
    assert _rows(tmp_path / "frame.sqlite") == EXPECTED


def test_arrow_columns_and_empty_appends(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", DDL)
    store.append("t", {"id": pa.array(["z"]), "n": np.array([5]), "x": None})  # None: all NULL
    store.append("t", {"id": np.array([], dtype=object), "n": np.array([], dtype=np.int64)})
    assert store.finish() == {"t": 1}
    with sqlite3.connect(tmp_path / "s.sqlite") as con:
        assert con.execute("SELECT id, n, x FROM t").fetchall() == [("z", 5, None)]
