{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='correlation_id',
    incremental_strategy='delete+insert',
    post_hook=(["delete from {{ this }} where event_seq is null"] if target.type == 'duckdb' else []),
) }}
{#- Every event of every order line across systems, in time order: channel order, ERP entry,
    warehouse shipment, ERP ship confirm, ASN, carrier scans, invoice, 810, payment, return,
    receipt, credit. One row per (correlation_id, event); order- and shipment-level events are
    repeated on each line they concern.

    The journey does not depend on as_of, and one more day touches few order lines: on DuckDB an
    incremental run rewrites only the correlation ids whose multiset of events changed (a 64-bit
    hash sum and a count per correlation id, new events vs the rows of this table), so the
    window over 11M events runs on the changed lines only. A correlation id that lost all its
    events gets one tombstone row (NULL event_seq): delete+insert removes its old rows and the
    post-hook the tombstone. Other adapters rebuild the table. Ties in time order are broken by
    every column, so event_seq is the same whichever run computed it. -#}
with lines as (
    select correlation_id, so_no, channel, channel_order_ref, customer_po, ordered_at, entered_at,
           qty_base, extended_amount, item_no
    from {{ ref('fct_order_lines') }}
),

ship_lines as (
    select * from {{ ref('fct_shipment_lines') }}
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
    from {{ ref('fct_invoice_lines') }}
    union all
    select il.correlation_id, il.so_no, c.applied_at, 'erp', 'cash_applied', c.receipt_no,
           cast(null as {{ dbt.type_bigint() }}), c.amount_applied
    from {{ ref('fct_cash_applications') }} as c
        inner join (select distinct invoice_no, correlation_id, so_no from {{ ref('fct_invoice_lines') }} where source_system = 'erp') as il
            on il.invoice_no = c.invoice_no
    union all
    select correlation_id, so_no, created_at, 'erp', 'rma_created', rma_no, qty_base, expected_credit
    from {{ ref('fct_rma_lines') }}
    union all
    select correlation_id, so_no, received_at, 'wms', 'return_received', return_receipt_no, received_base, cast(null as decimal(18, 2))
    from {{ ref('fct_rma_lines') }}
    where return_receipt_no is not null
    union all
    select correlation_id, so_no, credited_at, 'erp', 'credited', credit_memo_no, cast(null as {{ dbt.type_bigint() }}), credited_amount
    from {{ ref('fct_rma_lines') }}
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

{%- if is_incremental() %},

new_prints as (
    select correlation_id, sum(hash(so_no, event_at, system, event_type, document_id, qty_base, amount)) as print, count(*) as n
    from journeys
    group by correlation_id
),

old_prints as (
    select correlation_id, sum(hash(so_no, event_at, system, event_type, document_id, qty_base, amount)) as print, count(*) as n
    from {{ this }}
    group by correlation_id
),

changed as (
    select coalesce(n.correlation_id, o.correlation_id) as correlation_id, n.correlation_id is null as is_gone
    from new_prints as n
        full outer join old_prints as o on o.correlation_id = n.correlation_id
    where n.print is distinct from o.print or n.n is distinct from o.n
)

select
    j.*,
    row_number() over (partition by j.correlation_id order by j.event_at, j.event_type, j.document_id, j.system, j.qty_base, j.amount) as event_seq
from journeys as j
    inner join changed as c on c.correlation_id = j.correlation_id and not c.is_gone

union all

select correlation_id, null, null, null, null, null, null, null, null
from changed
where is_gone
{%- else %}

select
    j.*,
    row_number() over (partition by j.correlation_id order by j.event_at, j.event_type, j.document_id, j.system, j.qty_base, j.amount) as event_seq
from journeys as j
{%- endif %}
