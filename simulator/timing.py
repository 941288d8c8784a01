"""Time, random-stream and text-formatting helpers shared by every simulator module.

All instants are int64 seconds since the Unix epoch, UTC. Vectorised formatting goes through
numpy/pyarrow because per-row ``strftime`` is the slowest thing at 10M lines.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HOUR = 3600
DAY = 86400

# Random streams: one generator per (seed, day, stream) so adding a day never shifts another's draws.
STREAM_ORDERS = 1
STREAM_LIFECYCLE = 2
STREAM_DEFECTS = 3
STREAM_CARRIER = 4
STREAM_EDI = 5
STREAM_MASTER = 10
STREAM_INVENTORY = 11


def rng_for(seed: int, day: int, stream: int) -> np.random.Generator:
    """The generator of one (seed, day, stream): stable whatever else is simulated."""
    return np.random.default_rng([seed, day, stream])


def epoch(d: date) -> int:
    """Midnight UTC of a date, as epoch seconds."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def iso_column(ts: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` as an Arrow-backed pandas column.

    A frame written to a store hands the column to Arrow without a copy; an object column of
    Python strings costs ~5x more to make and as much again to convert.
    """
    return pd.arrays.ArrowExtensionArray(iso_arrow(ts))


def iso_arrow(ts: np.ndarray) -> pa.Array:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` strings (Arrow array, for ``concat_arrow``)."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) and _in_range(ts):  # date per distinct day + time-of-day table
        day = ts // DAY
        d0 = int(day.min())
        days = pa.array([date1(d) + "T" for d in range(d0, int(day.max()) + 1)], pa.string())
        return pc.binary_join_element_wise(
            days.take(pa.array(day - d0)), _clock_arrow().take(pa.array(ts % DAY)), ""
        )
    txt = pa.array(np.datetime_as_string(ts.astype("datetime64[s]")), pa.string())
    return pc.binary_join_element_wise(txt, "Z", "")


_CLOCK: list[np.ndarray] = []


def _clock_table() -> np.ndarray:
    """``HH:MM:SSZ`` of every second of a day (object array, built once)."""
    if not _CLOCK:
        _CLOCK.append(
            np.array(
                [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)],
                dtype=object,
            )
        )
    return _CLOCK[0]


def prepare_tables() -> None:
    """Build the formatting tables now: forked writers inherit them instead of each building
    its own copy."""
    _clock_arrow()


def _clock_arrow() -> pa.Array:
    """The ``HH:MM:SSZ`` table as an Arrow array (built once)."""
    if len(_CLOCK) < 2:
        _CLOCK.append(pa.array(_clock_table().tolist(), pa.string()))
    return _CLOCK[1]


_DATES: dict[int, str] = {}  # day number → "YYYY-MM-DD" (per-row strftime is slow)


def date1(day: int) -> str:
    """Day number since the epoch → ``YYYY-MM-DD`` (cached)."""
    d = _DATES.get(day)
    if d is None:
        d = _DATES[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")
    return d


def iso1(ts: int) -> str:
    """One epoch second → ISO-8601 UTC with ``Z``."""
    day, sec = divmod(int(ts), DAY)
    h, rem = divmod(sec, HOUR)
    m, s = divmod(rem, 60)
    return f"{date1(day)}T{h:02d}:{m:02d}:{s:02d}Z"


def ymd(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds → ``YYYYMMDD`` strings (object array)."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) == 0:
        return np.array([], dtype=object)
    if _in_range(ts):
        return _per_day(ts, lambda d: date1(d).replace("-", ""))
    txt = np.datetime_as_string(ts.astype("datetime64[s]").astype("datetime64[D]"))
    return np.char.replace(txt.astype(str), "-", "").astype(object)


def dates(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds → ``YYYY-MM-DD`` strings (object array)."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) and _in_range(ts):
        return _per_day(ts, date1)
    return np.datetime_as_string(ts.astype("datetime64[s]").astype("datetime64[D]")).astype(object)


def _in_range(ts: np.ndarray) -> bool:
    """Whether every instant lies in years 1970-9999 (the cached per-day formatting's domain)."""
    return int(ts.min()) >= 0 and int(ts.max()) < 253402300800


def _per_day(ts: np.ndarray, fmt: object) -> np.ndarray:
    """Format each distinct day once, then gather (object array shaped like ``ts``)."""
    days, inv = np.unique(ts // DAY, return_inverse=True)
    table = np.array([fmt(d) for d in days.tolist()], dtype=object)  # type: ignore[operator]
    return table[inv.reshape(ts.shape)]


def money(cents: np.ndarray) -> np.ndarray:
    """Integer cents → decimal strings ``-12.34`` (object array), exact, no float rounding."""
    return money_arrow(cents).to_numpy(zero_copy_only=False)


def money_arrow(cents: np.ndarray) -> pa.Array:
    """Integer cents → decimal strings ``-12.34`` (Arrow array), exact, no float rounding."""
    c = np.asarray(cents, dtype=np.int64)
    if len(c) == 0:
        return pa.array([], pa.string())
    a = np.abs(c)
    return concat_arrow(np.where(c < 0, "-", ""), a // 100, ".", zpad(a % 100, 2))


def money1(cents: int) -> str:
    """One integer cents amount → decimal string."""
    sign = "-" if cents < 0 else ""
    a = abs(int(cents))
    return f"{sign}{a // 100}.{a % 100:02d}"


def n2(cents: int) -> str:
    """X12 N2 (two implied decimals) from cents: 255438 for 2554.38."""
    return str(int(cents))


def upc_check_digit(digits11: np.ndarray) -> np.ndarray:
    """GS1 mod-10 check digit of 11-digit UPC-A bodies given as an (n, 11) int array."""
    odd = digits11[:, 0::2].sum(axis=1)
    even = digits11[:, 1::2].sum(axis=1)
    return (10 - (odd * 3 + even) % 10) % 10


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of any body (weights 3,1,3… from the right)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def sscc18(extension: int, prefix: str, serial: int) -> str:
    """An SSCC-18 with a valid check digit: extension + GS1 company prefix + serial + check."""
    body = f"{extension}{prefix}{serial:0{16 - len(prefix)}d}"
    return body + str(gs1_check_digit(body))


def to_arrow_str(p: object) -> pa.Array:
    """Any 1-d array (ints, numpy/object strings) as an Arrow string array, cheaply."""
    if isinstance(p, pa.Array):
        return p if p.type == pa.string() else pc.cast(p, pa.string())
    a = np.asarray(p)
    if a.dtype.kind in "iub":
        return pc.cast(pa.array(a), pa.string())
    if a.dtype.kind in "OU":  # numpy unicode converts directly (astype(str) first: 4x slower)
        return pa.array(a, type=pa.string())
    return pa.array(a.astype(str), type=pa.string())


def concat_arrow(*parts: object) -> pa.Array:
    """Element-wise concatenation of arrays and string constants, as an Arrow array."""
    arrs = [p if isinstance(p, str) else to_arrow_str(p) for p in parts]
    return pc.binary_join_element_wise(*arrs, "")


def text_spans(lines: pa.Array) -> tuple[np.ndarray, memoryview]:
    """A string array's value bounds (``len + 1`` offsets) into its character buffer.

    Values ``a`` to ``z - 1`` are ``data[offsets[a]:offsets[z]]``, back to back: a file's bytes
    when the values carry their own line ends.
    """
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    return offsets[lines.offset : lines.offset + len(lines) + 1], memoryview(lines.buffers()[2])


def text_bytes(lines: pa.Array) -> bytes:
    """The characters of a string array's values, back to back (values carry their own ends)."""
    if not len(lines):
        return b""
    offsets, data = text_spans(lines)
    return data[offsets[0] : offsets[-1]].tobytes()


def concat(*parts: object) -> list[str]:
    """Element-wise string concatenation of arrays and constants (vectorised in Arrow)."""
    if all(isinstance(p, str) for p in parts):
        return ["".join(parts)]  # type: ignore[arg-type]
    return concat_arrow(*parts).to_pylist()


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """``str.zfill`` over an array (numpy unicode result); safe on empty arrays, unlike np.char."""
    values = np.asarray(values).astype(str)
    if len(values) == 0:
        return values
    return np.char.zfill(values, width)


def str_replace(values: np.ndarray, old: str, new: str) -> np.ndarray:
    """``str.replace`` over an array (object result); safe on empty arrays, unlike np.char."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.array([], dtype=object)
    text = pc.replace_substring(to_arrow_str(values), old, new)
    return text.to_numpy(zero_copy_only=False)


def money_arr(cents: np.ndarray) -> pa.Array:
    """Integer cents → decimal strings, as an Arrow array (for ``concat``)."""
    return money_arrow(cents)


def zpad(nums: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers → zero-padded decimal strings (Arrow array): ``zfill`` in C++."""
    return pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(nums, dtype=np.int64)), pa.string()), width, "0"
    )


def strs(*parts: object) -> np.ndarray:
    """Element-wise concatenation of arrays and constants, as an object array of ``str``."""
    return concat_arrow(*parts).to_numpy(zero_copy_only=False)


def compact_json(value: object) -> str:
    """``json.dumps(value, separators=(",", ":"))``, through orjson (~10x faster).

    orjson writes non-ASCII characters as UTF-8 where ``json.dumps`` escapes them: such values
    take the slow path, so the text is the same either way.
    """
    text = orjson.dumps(value)
    return text.decode() if text.isascii() else json.dumps(value, separators=(",", ":"))
