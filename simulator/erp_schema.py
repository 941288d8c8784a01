"""The ERP's tables (SQLAlchemy Core): one definition for SQLite and PostgreSQL.

Keys are the ERP's own business keys (``so_no``, ``invoice_no``…), declared as primary keys.
Every table carries ``updated_at``: ISO-8601 UTC text in SQLite, ``timestamptz`` in PostgreSQL.
Money is ``NUMERIC(14,2)`` in USD; quantities are in the row's ``uom`` unless named ``*_base``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Numeric, String, Table, Text

metadata = MetaData()


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _money(name: str) -> Column:
    return Column(name, Numeric(14, 2))


def _t(name: str, *cols: Column) -> Table:
    # SQLite stores a WITHOUT ROWID table as one B-tree keyed on the primary key instead of a
    # rowid table plus a key index: a quarter less CPU per inserted row and a smaller file.
    # Only the primary keys are indexed: the ERP connector reads whole tables by updated_at,
    # and each further index cost a fifth of the simulator's ERP writing time.
    return Table(name, metadata, *cols, _ts("updated_at", nullable=False), sqlite_with_rowid=False)


S = String
customers = _t(
    "customers",
    Column("customer_no", S(10), primary_key=True),
    Column("name", Text),
    Column("channel", S(16)),
    Column("payment_terms", S(16)),
    Column("edi_partner_code", S(16)),
    Column("edi_isa_qualifier", S(2)),
    Column("edi_isa_id", S(15)),
    _money("credit_limit"),
)
customer_ship_tos = _t(
    "customer_ship_tos",
    Column("ship_to_id", S(16), primary_key=True),
    Column("customer_no", S(10)),
    Column("name", Text),
    Column("address1", Text),
    Column("city", Text),
    Column("state", S(2)),
    Column("postal_code", S(10)),
    Column("country", S(2)),
    Column("gln", S(13)),
    Column("zone", Integer),
)
items = _t(
    "items",
    Column("item_no", S(10), primary_key=True),
    Column("upc", S(12)),
    Column("description", Text),
    Column("base_uom", S(3)),
    Column("case_qty", Integer),
    Column("pallet_qty", Integer),
    Column("weight_lb", Numeric(10, 2)),
    _money("standard_cost"),
    _money("list_price"),
    Column("lot_controlled", Boolean),
    Column("abc_class", S(1)),
)
item_uoms = _t(
    "item_uoms",
    Column("item_no", S(10), primary_key=True),
    Column("uom", S(3), primary_key=True),
    Column("factor_to_base", Integer),
)
warehouses = _t(
    "warehouses",
    Column("warehouse_code", S(16), primary_key=True),
    Column("name", Text),
    Column("operator", S(10)),
    Column("system", S(8)),
    Column("city", Text),
    Column("state", S(2)),
)
carriers = _t(
    "carriers",
    Column("scac", S(4), primary_key=True),
    Column("name", Text),
    Column("mode", S(8)),
    Column("account_no", S(16)),
    Column("fuel_surcharge_pct", Numeric(6, 4)),
)
carrier_rates = _t(
    "carrier_rates",
    Column("scac", S(4), primary_key=True),
    Column("zone", Integer, primary_key=True),
    _money("base_charge"),
    Column("per_lb", Numeric(10, 2)),
    _money("min_charge"),
)
contract_prices = _t(
    "contract_prices",
    Column("customer_no", S(10), primary_key=True),
    Column("item_no", S(10), primary_key=True),
    Column("uom", S(3)),
    Column("unit_price", Numeric(14, 2)),
    Column("effective_from", S(10)),
)
channel_fee_rates = _t(
    "channel_fee_rates",
    Column("channel", S(16), primary_key=True),
    Column("fee_pct", Numeric(6, 4)),
    _money("fee_fixed"),
    Column("basis", Text),
)
sales_orders = _t(
    "sales_orders",
    Column("so_no", S(12), primary_key=True),
    Column("customer_no", S(10)),
    Column("ship_to_id", S(16)),
    Column("channel", S(16)),
    Column("customer_po", S(32)),
    Column("channel_order_ref", S(32)),
    _ts("order_date"),
    _ts("entered_at"),
    Column("warehouse_code", S(16)),
    Column("carrier_scac", S(4)),
    Column("status", S(16)),
    Column("currency", S(3)),
    _money("total_amount"),
)
sales_order_lines = _t(
    "sales_order_lines",
    Column("so_no", S(12), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("correlation_id", S(20)),
    Column("item_no", S(10)),
    Column("qty", Integer),
    Column("uom", S(3)),
    Column("qty_base", Integer),
    Column("unit_price", Numeric(14, 2)),
    _money("extended_amount"),
    Column("channel_line_ref", S(32)),
    Column("qty_shipped_base", Integer),
    Column("qty_backordered_base", Integer),
    Column("status", S(16)),
)
shipments = _t(
    "shipments",
    Column("ship_confirm_no", S(12), primary_key=True),
    Column("shipment_id", S(12)),
    Column("so_no", S(12)),
    Column("warehouse_code", S(16)),
    Column("carrier_scac", S(4)),
    Column("tracking_no", S(32)),
    Column("pro_no", S(16)),
    Column("bol_no", S(16)),
    _ts("shipped_at"),
    _ts("posted_at"),
    Column("source", S(4)),
    Column("weight_lb", Numeric(10, 1)),
)
shipment_lines = _t(
    "shipment_lines",
    Column("ship_confirm_no", S(12), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("shipment_id", S(12)),
    Column("so_no", S(12)),
    Column("so_line_no", Integer),
    Column("correlation_id", S(20)),
    Column("item_no", S(10)),
    Column("lot_no", S(16)),
    Column("qty", Integer),
    Column("uom", S(3)),
    Column("qty_base", Integer),
)
invoices = _t(
    "invoices",
    Column("invoice_no", S(12), primary_key=True),
    Column("so_no", S(12)),
    Column("customer_no", S(10)),
    _ts("invoice_date"),
    _ts("due_date"),
    Column("terms", S(16)),
    _money("subtotal"),
    _money("freight_amount"),
    _money("tax_amount"),
    _money("total_amount"),
    Column("status", S(16)),
    Column("is_consolidated", Boolean),
)
invoice_lines = _t(
    "invoice_lines",
    Column("invoice_no", S(12), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("shipment_id", S(12)),
    Column("so_no", S(12)),
    Column("so_line_no", Integer),
    Column("correlation_id", S(20)),
    Column("item_no", S(10)),
    Column("qty", Integer),
    Column("uom", S(3)),
    Column("qty_base", Integer),
    Column("unit_price", Numeric(14, 2)),
    _money("extended_amount"),
)
credit_memos = _t(
    "credit_memos",
    Column("credit_memo_no", S(12), primary_key=True),
    Column("rma_no", S(12)),
    Column("customer_no", S(10)),
    Column("invoice_no", S(12)),
    _ts("memo_date"),
    _money("total_amount"),
)
credit_memo_lines = _t(
    "credit_memo_lines",
    Column("credit_memo_no", S(12), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("rma_no", S(12)),
    Column("rma_line_no", Integer),
    Column("correlation_id", S(20)),
    Column("item_no", S(10)),
    Column("qty", Integer),
    Column("uom", S(3)),
    Column("qty_base", Integer),
    Column("unit_price", Numeric(14, 2)),
    _money("extended_amount"),
)
rmas = _t(
    "rmas",
    Column("rma_no", S(12), primary_key=True),
    Column("customer_no", S(10)),
    Column("so_no", S(12)),
    Column("invoice_no", S(12)),
    Column("channel", S(16)),
    Column("channel_return_ref", S(32)),
    _ts("created_at"),
    Column("window_days", Integer),
    Column("reason_code", S(4)),
    Column("status", S(16)),
    _money("expected_credit"),
)
rma_lines = _t(
    "rma_lines",
    Column("rma_no", S(12), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("correlation_id", S(20)),
    Column("item_no", S(10)),
    Column("qty", Integer),
    Column("uom", S(3)),
    Column("qty_base", Integer),
    Column("unit_price", Numeric(14, 2)),
)
cash_receipts = _t(
    "cash_receipts",
    Column("receipt_no", S(12), primary_key=True),
    Column("customer_no", S(10)),
    _ts("received_at"),
    _ts("posted_at"),
    Column("method", S(8)),
    Column("reference", S(32)),
    _money("amount"),
    _money("unapplied_amount"),
)
cash_applications = _t(
    "cash_applications",
    Column("receipt_no", S(12), primary_key=True),
    Column("invoice_no", S(12), primary_key=True),
    _money("amount_applied"),
    _money("discount_taken"),
    _money("short_paid_amount"),
    Column("adjustment_reason", S(4)),
    _ts("applied_at"),
)
freight_accruals = _t(
    "freight_accruals",
    Column("accrual_no", S(12), primary_key=True),
    Column("shipment_id", S(12)),
    Column("ship_confirm_no", S(12)),
    Column("carrier_scac", S(4)),
    Column("tracking_no", S(32)),
    _ts("accrued_at"),
    Column("zone", Integer),
    Column("billed_weight_lb", Integer),
    _money("amount"),
)
inventory_balances = _t(
    "inventory_balances",
    Column("snapshot_date", S(10), primary_key=True),
    Column("warehouse_code", S(16), primary_key=True),
    Column("item_no", S(10), primary_key=True),
    Column("lot_no", S(16), primary_key=True),
    Column("on_hand_base", Integer),
)
inventory_transactions = _t(
    "inventory_transactions",
    Column("txn_no", S(14), primary_key=True),
    _ts("txn_at"),
    Column("warehouse_code", S(16)),
    Column("item_no", S(10)),
    Column("lot_no", S(16)),
    Column("txn_type", S(16)),
    Column("qty_base", Integer),
    Column("reference", S(32)),
)
