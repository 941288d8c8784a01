"""Small, explicit source systems for ingestion tests: an ERP database and carrier/Amazon files.

Formats follow docs/simulated-company.md (ERP tables keyed on business keys with ``updated_at``;
carrier webhook JSON lines and freight bill CSVs; Amazon settlement V2 TSVs). The ERP is written
with SQLAlchemy Core so the same builder fills SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

# ---------------------------------------------------------------------------------------------
# ERP

erp_metadata = sa.MetaData()
customers = sa.Table(
    "customers",
    erp_metadata,
    sa.Column("customer_no", sa.String(10), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("credit_limit", sa.Numeric(14, 2)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
sales_order_lines = sa.Table(
    "sales_order_lines",
    erp_metadata,
    sa.Column("so_no", sa.String(12), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("item_no", sa.String(10)),
    sa.Column("qty", sa.Numeric(14, 3)),
    sa.Column("unit_price", sa.Numeric(14, 2)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
# No primary key and no cursor: loaded with replace, in full each run.
exchange_rates = sa.Table(
    "exchange_rates",
    erp_metadata,
    sa.Column("currency", sa.String(3)),
    sa.Column("rate", sa.Numeric(12, 6)),
)


class Erp:
    """An ERP database with a handful of customers and order lines."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        erp_metadata.create_all(self.engine)

    def add_customers(self, start: int, count: int, at: datetime = T0) -> None:
        rows = [
            {
                "customer_no": f"C{i:05d}",
                "name": f"Customer {i}",
                "credit_limit": 1000 + i,
                "updated_at": at + timedelta(seconds=i),
            }
            for i in range(start, start + count)
        ]
        with self.engine.begin() as conn:
            conn.execute(customers.insert(), rows)

    def add_order_lines(
        self, orders: Sequence[int], lines_per_order: int, at: datetime = T0
    ) -> None:
        rows = [
            {
                "so_no": f"SO{o:08d}",
                "line_no": n,
                "item_no": f"ITM{n:05d}",
                "qty": n * 2,
                "unit_price": 9.99,
                "updated_at": at + timedelta(minutes=o),
            }
            for o in orders
            for n in range(1, lines_per_order + 1)
        ]
        with self.engine.begin() as conn:
            conn.execute(sales_order_lines.insert(), rows)

    def reprice(self, so_no: str, unit_price: float, at: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                sales_order_lines.update()
                .where(sales_order_lines.c.so_no == so_no)
                .values(unit_price=unit_price, updated_at=at)
            )
        return result.rowcount

    def add_exchange_rates(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                exchange_rates.insert(),
                [{"currency": "EUR", "rate": 1.08}, {"currency": "CAD", "rate": 0.73}],
            )


# ---------------------------------------------------------------------------------------------
# Carrier


def tracking_event(n: int, *, scac: str = "UPSN", **extra: object) -> dict:
    """One ``tracker.updated`` webhook event, as the simulator's carriers write them."""
    return {
        "id": f"evt_SH{n:08d}_1",
        "description": "tracker.updated",
        "carrier": {"UPSN": "UPS", "FDEG": "FedEx"}.get(scac, scac),
        "tracking_code": f"1ZA1B2C3{n:08d}",
        "status": "in_transit",
        "status_detail": "picked_up",
        "message": "Picked up by carrier",
        "datetime": (T0 + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
        "tracking_location": {"city": "MEMPHIS", "state": "TN", "zip": "38118", "country": "US"},
        "signed_by": None,
        "est_delivery_date": "2026-01-04",
        "shipment_reference": f"SH{n:08d}",
        **extra,
    }


def write_tracking(root: Path, day: str, name: str, lines: Sequence[dict | str]) -> Path:
    """Write a JSONL drop; string items are written verbatim (for broken lines)."""
    path = root / "carrier" / "tracking" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n")
    return path


FREIGHT_HEADER = (
    "invoice_no,invoice_date,account_no,tracking_no,pro_no,ship_date,service,zone,"
    "actual_weight_lb,billed_weight_lb,base_charge,fuel_surcharge,accessorial_code,"
    "accessorial_charge,net_charge,reference,bol_no"
)


def freight_line(invoice: str, n: int, net_charge: str = "12.50") -> str:
    """One shipment on a carrier invoice (17 fields)."""
    return (
        f"{invoice},2026-01-08,UPS-ACCT-1,1ZA1B2C3{n:08d},,2026-01-02,GROUND,4,"
        f"12.0,13,10.00,1.25,RES,1.25,{net_charge},SH{n:08d},BOL{n:08d}"
    )


def write_freight_bill(
    root: Path, name: str, rows: Sequence[str], header: str = FREIGHT_HEADER
) -> Path:
    path = root / "carrier" / "freight_bills" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# Amazon

SETTLEMENT_COLUMNS_24 = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
]
# Amazon's documentation lists 23 columns: no promotion-id.
SETTLEMENT_COLUMNS_23 = SETTLEMENT_COLUMNS_24[:-1]


def settlement_rows(
    settlement_id: str,
    orders: int,
    *,
    total: str | None = None,
    decimal_comma: bool = False,
    dates: str = "iso",
) -> list[dict[str, str]]:
    """A summary row and two amount lines (principal, commission) per order."""

    def money(value: float) -> str:
        text = f"{value:.2f}"
        return text.replace(".", ",") if decimal_comma else text

    def when(day: int) -> str:
        if dates == "eu":
            return f"{day:02d}.01.2026"
        return f"2026-01-{day:02d} 08:00:00 UTC"

    lines = []
    for o in range(orders):
        common = {
            "settlement-id": settlement_id,
            "transaction-type": "Order",
            "order-id": f"114-{settlement_id}-{o:05d}",
            "marketplace-name": "Amazon.com",
            "fulfillment-id": "MFN",
            "posted-date": when(2 + o % 10),
            "order-item-code": f"{o:014d}",
            "sku": f"ITM{o % 7:05d}",
            "quantity-purchased": "1",
        }
        lines.append({**common, "amount-type": "ItemPrice", "amount-description": "Principal",
                      "amount": money(20.0 + o)})  # fmt: skip
        lines.append({**common, "amount-type": "ItemFees", "amount-description": "Commission",
                      "amount": money(-3.0)})  # fmt: skip
    net = sum(20.0 + o - 3.0 for o in range(orders))
    summary = {
        "settlement-id": settlement_id,
        "settlement-start-date": when(1),
        "settlement-end-date": when(15),
        "deposit-date": when(16),
        "total-amount": total if total is not None else money(net),
        "currency": "USD",
    }
    return [summary, *lines]


def write_settlement(
    root: Path,
    name: str,
    rows: Sequence[dict[str, str] | str],
    columns: Sequence[str] = SETTLEMENT_COLUMNS_24,
) -> Path:
    """Write a V2 flat file; string rows are written verbatim (for broken lines)."""
    path = root / "amazon" / "settlements" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ["\t".join(columns)]
    for row in rows:
        text.append(row if isinstance(row, str) else "\t".join(row.get(c, "") for c in columns))
    path.write_text("\n".join(text) + "\n")
    return path
