{#- Every event of every order line across systems, in time order: channel order, ERP entry,
    warehouse shipment, ERP ship confirm, ASN, carrier scans, invoice, 810, payment, return,
    receipt, credit. One row per (correlation_id, event); order- and shipment-level events are
    repeated on each line they concern. -#}
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
)

select
    e.correlation_id,
    e.so_no,
    e.event_at,
    e.system,
    e.event_type,
    e.document_id,
    e.qty_base,
    e.amount,
    row_number() over (partition by e.correlation_id order by e.event_at, e.event_type, e.document_id) as event_seq
from events as e
where e.event_at is not null and e.correlation_id is not null
