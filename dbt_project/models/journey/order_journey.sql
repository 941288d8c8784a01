{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='correlation_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ clear_unless_built_from_new_loads() }}",
    post_hook=(["delete from {{ this }} where event_seq is null"] if target.type == 'duckdb' else []),
) }}
{#- Every event of every order line across systems, in time order: channel order, ERP entry,
    warehouse shipment, ERP ship confirm, ASN, carrier scans, invoice, 810, payment, return,
    receipt, credit. One row per (correlation_id, event); order- and shipment-level events are
    repeated on each line they concern.

    The journey does not depend on as_of, and one more day touches few order lines: on DuckDB it
    is rebuilt only for the correlation ids that loads since its last build touched
    (macros/loads.sql): the order, shipment and invoice lines the incremental facts rebuilt since
    then, the lines of shipments a new 856 or carrier scan names, of invoices new cash was applied
    to, of RMAs a new RMA line, receipt or credit memo names; and every correlation id this table
    holds for the orders of those (a line that moved to another correlation id leaves its old one
    behind). Each candidate's events are computed whole, so its event_seq is the same as a full
    build's. A candidate with no events left gets one tombstone row (NULL event_seq):
    delete+insert removes its old rows and the post-hook the tombstone. Other adapters rebuild the
    table. Ties in time order are broken by every column, so event_seq is the same whichever run
    computed it. -#}
-- depends_on: {{ ref('stg_erp__cash_applications') }}
-- depends_on: {{ ref('stg_erp__rma_lines') }}
-- depends_on: {{ ref('stg_wms__return_receipts') }}
{%- set only_changed = builds_from_new_loads() %}
{%- set sources = ['erp', 'wms', 'edi', 'carrier'] %}
{%- set str = dbt.type_string() %}
{%- set candidates_only = only_candidates(only_changed) %}
with
{%- if only_changed %}
new_loads as (
    {{ new_load_ids(sources) }}
),

changed_uoms as (
    {{ changed_item_uoms() }}
),

-- shipments whose ASN lines or carrier scans new loads wrote or re-converted
changed_shipments as (
    {{ from_new_loads(source_or_empty('edi', 'x12_856_shipments', {
        'shipment_id': str, '_dlt_load_id': str}), 'cast(shipment_id as ' ~ str ~ ') as shipment_id') }}
    union
    {{ from_new_loads(source_or_empty('edi', 'x12_856_items', {
        'shipment_id': str, '_dlt_load_id': str}), 'cast(shipment_id as ' ~ str ~ ')') }}
    union
    select a.shipment_id from {{ ref('stg_edi__856_items') }} as a
        inner join changed_uoms as u on u.item_no = a.item_no
    union
    {{ from_new_loads(source_or_empty('carrier', 'tracking_events', {
        'shipment_reference': str, '_dlt_load_id': str}), 'cast(shipment_reference as ' ~ str ~ ')') }}
),

-- invoices new cash applications name, or whose applications' receipts new loads wrote
changed_invoices as (
    {{ from_new_loads(source('erp', 'cash_applications'), 'invoice_no') }}
    union
    select a.invoice_no from {{ ref('stg_erp__cash_applications') }} as a
        inner join ({{ from_new_loads(source('erp', 'cash_receipts'), 'receipt_no') }}) as r
            on r.receipt_no = a.receipt_no
),

-- RMAs whose header, lines, return receipts or credit memos new loads wrote or re-converted
changed_rmas as (
    {{ from_new_loads(source('erp', 'rmas'), 'rma_no') }}
    union
    {{ from_new_loads(source('erp', 'rma_lines'), 'rma_no') }}
    union
    {{ from_new_loads(source('erp', 'credit_memos'), 'rma_no') }}
    union
    {{ from_new_loads(source('wms', 'return_receipts'), 'rma_no') }}
    union
    select l.rma_no from {{ ref('stg_erp__rma_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    select r.rma_no from {{ ref('stg_wms__return_receipts') }} as r
        inner join changed_uoms as u on u.item_no = r.item_no and u.uom = r.uom
),

touched as (
    {{ rebuilt_since_watermark(
        [ref('fct_order_lines'), ref('fct_shipment_lines'), ref('fct_invoice_lines')], 'correlation_id, so_no') }}
    union
    select s.correlation_id, s.so_no from {{ ref('fct_shipment_lines') }} as s
        where s.shipment_id in (select c.shipment_id from changed_shipments as c)
    union
    select i.correlation_id, i.so_no from {{ ref('fct_invoice_lines') }} as i
        where i.source_system = 'erp' and i.invoice_no in (select c.invoice_no from changed_invoices as c)
    union
    select r.correlation_id, r.so_no from {{ ref('fct_rma_lines') }} as r
        where r.rma_no in (select c.rma_no from changed_rmas as c)
),

candidates as (
    select correlation_id from touched where correlation_id is not null
    union
    select j.correlation_id from {{ this }} as j
        where j.so_no in (select t.so_no from touched as t)
),
{%- endif %}

lines as (
    select correlation_id, so_no, channel, channel_order_ref, customer_po, ordered_at, entered_at,
           qty_base, extended_amount, item_no
    from {{ ref('fct_order_lines') }}
    {{- candidates_only }}
),

ship_lines as (
    select * from {{ ref('fct_shipment_lines') }}
    {{- candidates_only }}
),

invoice_lines as (
    select * from {{ ref('fct_invoice_lines') }}
    {{- candidates_only }}
),

rma_lines as (
    select * from {{ ref('fct_rma_lines') }}
    {{- candidates_only }}
),

events as (
    select correlation_id, so_no, ordered_at as event_at, channel as system, 'order_placed' as event_type,
           coalesce(channel_order_ref, customer_po, so_no) as document_id, qty_base, extended_amount as amount
    from lines
    union all
    select correlation_id, so_no, entered_at, 'erp', 'sales_order_entered', so_no, qty_base, extended_amount
    from lines
    union all
    select correlation_id, so_no, shipped_at, source_system, 'shipped', shipment_id, qty_base, cast(null as decimal(18, 2))
    from ship_lines
    where source_system in ('wms', '945')
    union all
    select correlation_id, so_no, posted_at, 'erp',
           case when is_duplicate_posting then 'ship_confirm_posted_again' else 'ship_confirm_posted' end,
           ship_confirm_no, qty_base, cast(null as decimal(18, 2))
    from ship_lines
    where source_system = 'erp'
    union all
    select s.correlation_id, s.so_no, a.ship_date, '856', 'asn_sent', a.shipment_id, a.qty_base, cast(null as decimal(18, 2))
    from {{ ref('stg_edi__856_items') }} as a
        inner join (select distinct shipment_id, item_no, correlation_id, so_no from ship_lines) as s
            on s.shipment_id = a.shipment_id and s.item_no = a.item_no
    union all
    select s.correlation_id, s.so_no, t.event_at, 'carrier', {{ dbt.concat(["'carrier_'", "t.status"]) }}, t.tracking_no,
           cast(null as {{ dbt.type_bigint() }}), cast(null as decimal(18, 2))
    from {{ ref('stg_carrier__tracking_events') }} as t
        inner join (select distinct shipment_id, correlation_id, so_no from ship_lines) as s
            on s.shipment_id = t.shipment_id
    union all
    select correlation_id, so_no, invoiced_at, source_system,
           case when source_system = 'erp' then 'invoiced' else 'invoice_810_sent' end,
           invoice_no, qty_base, extended_amount
    from invoice_lines
    union all
    select il.correlation_id, il.so_no, c.applied_at, 'erp', 'cash_applied', c.receipt_no,
           cast(null as {{ dbt.type_bigint() }}), c.amount_applied
    from {{ ref('fct_cash_applications') }} as c
        inner join (select distinct invoice_no, correlation_id, so_no from invoice_lines where source_system = 'erp') as il
            on il.invoice_no = c.invoice_no
    union all
    select correlation_id, so_no, created_at, 'erp', 'rma_created', rma_no, qty_base, expected_credit
    from rma_lines
    union all
    select correlation_id, so_no, received_at, 'wms', 'return_received', return_receipt_no, received_base, cast(null as decimal(18, 2))
    from rma_lines
    where return_receipt_no is not null
    union all
    select correlation_id, so_no, credited_at, 'erp', 'credited', credit_memo_no, cast(null as {{ dbt.type_bigint() }}), credited_amount
    from rma_lines
    where credit_memo_no is not null
),

journeys as (
    -- qty_base as bigint: sums of bigint are HUGEINT on DuckDB, whose bit-packed columns read
    -- ~20x slower than BIGINT ones (2.5 s per scan of 11M rows).
    select
        correlation_id, so_no, event_at, system, event_type, document_id,
        cast(qty_base as {{ dbt.type_bigint() }}) as qty_base, amount
    from events
    where event_at is not null and correlation_id is not null
)

select
    j.correlation_id, j.so_no, j.event_at, j.system, j.event_type, j.document_id, j.qty_base, j.amount,
    row_number() over (partition by j.correlation_id order by j.event_at, j.event_type, j.document_id, j.system, j.qty_base, j.amount) as event_seq,
    -- after the window, which would otherwise carry the constant columns through its sort
    {{ load_bookkeeping(sources) }}
from journeys as j
{%- if only_changed %}

union all

select c.correlation_id, null, null, null, null, null, null, null, null, {{ load_bookkeeping(sources) }}
from candidates as c
where not exists (select 1 from journeys as j where j.correlation_id = c.correlation_id)
{%- endif %}
