"""Small simulated stores with the simulator's contract, and an HTTP client on urllib."""

from __future__ import annotations

import json
import random
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.server import running_server

TOKEN = "test-token"
SHIPMENTS = 1234
ORDERS = 137
PAYOUTS = 6


@dataclass
class Reply:
    """What a test looks at in an HTTP answer."""

    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> object:
        return json.loads(self.raw)


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> Reply:
    """GET a URL; HTTP errors are answers too, so they come back as a Reply, not an exception."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


def wms_headers(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def shopify_headers(token: str = TOKEN) -> dict[str, str]:
    return {"X-Shopify-Access-Token": token}


def _timestamp(rng: random.Random) -> str:
    # Few distinct instants, so many rows share an updated_at and the id must break ties.
    return f"2026-01-{rng.randint(1, 9):02d}T{rng.randint(0, 3):02d}:00:00Z"


def write_wms_store(path: Path, *, index: bool = True, seed: int = 1) -> list[dict]:
    """A WMS store with a `shipments` table, rows inserted in random order; returns the rows."""
    rng = random.Random(seed)
    rows = [
        {
            "id": f"SH{i:08d}",
            "warehouse": rng.choice(["DC-EAST", "DC-WEST"]),
            "status": "shipped",
            "weight_lb": round(rng.uniform(1, 90), 2),
            "cartons": rng.randint(1, 9),
            "updated_at": _timestamp(rng),
        }
        for i in range(1, SHIPMENTS + 1)
    ]
    rng.shuffle(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE shipments (id TEXT PRIMARY KEY, warehouse TEXT, status TEXT, "
        "weight_lb REAL, cartons INTEGER, updated_at TEXT NOT NULL)"
    )
    if index:
        conn.execute("CREATE INDEX ix_shipments_updated ON shipments (updated_at, id)")
    conn.executemany(
        "INSERT INTO shipments VALUES (:id, :warehouse, :status, :weight_lb, :cartons, "
        ":updated_at)",
        rows,
    )
    conn.execute("CREATE TABLE settings (name TEXT, value TEXT)")  # not a resource: no id
    conn.commit()
    conn.close()
    return rows


def write_shopify_store(path: Path, seed: int = 2) -> dict[str, list[dict]]:
    """A Shopify store: orders (some closed, some cancelled), payouts, balance transactions."""
    rng = random.Random(seed)
    orders = []
    for i in range(1, ORDERS + 1):
        updated = _timestamp(rng)
        state = rng.choice(["open", "open", "closed", "cancelled"])
        orders.append(
            {
                "id": 5_000_000 + i,
                "name": f"#{1000 + i}",
                "updated_at": updated,
                "closed_at": updated if state != "open" else None,
                "cancelled_at": updated if state == "cancelled" else None,
                "total_price": f"{rng.uniform(10, 500):.2f}",
                "line_items": [{"id": 9_000_000 + i, "sku": "ITM00001", "quantity": 2}],
            }
        )
    payouts = [
        {
            "id": 700 + i,
            "status": "paid",
            "date": f"2026-01-{i + 1:02d}",
            "amount": f"{100 * i:.2f}",
            "updated_at": f"2026-01-{i + 1:02d}T06:00:00Z",
        }
        for i in range(1, PAYOUTS + 1)
    ]
    transactions = [
        {
            "id": 800_000 + i,
            "type": "charge",
            "payout_id": 700 + 1 + i % PAYOUTS,
            "amount": "10.00",
            "fee": "0.59",
            "net": "9.41",
            "updated_at": f"2026-01-0{1 + i % 9}T01:00:00Z",
        }
        for i in range(60)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for table, records, extra in (
        ("orders", orders, ""),
        ("payouts", payouts, ""),
        ("balance_transactions", transactions, ", payout_id INTEGER"),
    ):
        conn.execute(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, updated_at TEXT, payload TEXT{extra})"
        )
        for record in records:
            # Spaces after separators: a re-serialising server would change these bytes.
            payload = json.dumps(record, separators=(", ", ": "))
            if extra:
                conn.execute(
                    f"INSERT INTO {table} VALUES (?, ?, ?, ?)",
                    (record["id"], record["updated_at"], payload, record["payout_id"]),
                )
            else:
                conn.execute(
                    f"INSERT INTO {table} VALUES (?, ?, ?)",
                    (record["id"], record["updated_at"], payload),
                )
    conn.commit()
    conn.close()
    return {"orders": orders, "payouts": payouts, "transactions": transactions}


@dataclass
class Company:
    """A data directory with both stores, and what was written to them."""

    path: Path
    shipments: list[dict]
    shopify: dict[str, list[dict]]


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    root = tmp_path_factory.mktemp("company")
    shipments = write_wms_store(root / "wms" / "wms.sqlite")
    shopify = write_shopify_store(root / "shopify" / "shopify.sqlite")
    return Company(root, shipments, shopify)


@pytest.fixture(scope="session")
def base_url(company: Company) -> Iterator[str]:
    with running_server(company.path, token=TOKEN, quiet=True) as url:
        yield url
