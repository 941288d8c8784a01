{#- 3PL warehouse shipping advice (945) lines: the 3PL's shipment, in base units. W06 carries
    the depositor order "<so_no>-<k>" and our shipment id; LX is the shipment line number. The
    order line is the one the ERP posted for that shipment line; before posting, the n-th line
    of an item in the shipment is the n-th order line of that item. -#}
{%- set str = dbt.type_string() -%}
with lines as (
    select * from {{ source_or_empty('edi', 'x12_945_lines', {
        'depositor_order_number': str, 'shipment_id': str, 'line_index': dbt.type_bigint(), 'lx': str,
        'quantity_shipped': 'decimal(18, 4)', 'uom': str, 'vendor_item': str, 'lot_number': str,
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str}) }} as x
),

heads as (
    select * from {{ source_or_empty('edi', 'x12_945_shipments', {
        'depositor_order_number': str, 'shipment_id': str, 'shipped_date': 'date', 'ship_date': 'date',
        'po_number': str, 'carrier_scac': str, 'isa_control_number': str, 'gs_control_number': str,
        'st_control_number': str}) }} as x
),

-- a retransmitted interchange repeats the same shipment: keep one copy
one_copy as (
    select l.*, row_number() over (
        partition by l.shipment_id, l.line_index order by l.isa_control_number, l.st_control_number) as _rn
    from lines as l
),

parsed as (
    select
        cast(l.shipment_id as {{ str }}) as shipment_id,
        cast(l.line_index as {{ dbt.type_bigint() }}) as line_index,
        cast(coalesce(l.lx, cast(l.line_index as {{ str }})) as {{ dbt.type_bigint() }}) as shipment_line_no,
        cast(l.depositor_order_number as {{ str }}) as depositor_order_number,
        {{ dbt.split_part('cast(l.depositor_order_number as ' ~ str ~ ')', "'-'", 1) }} as so_no,
        cast(l.vendor_item as {{ str }}) as item_no,
        nullif(cast(l.lot_number as {{ str }}), '') as lot_no,
        cast(l.quantity_shipped as {{ dbt.type_bigint() }}) as qty,
        {{ uom_code('l.uom') }} as uom
    from one_copy as l
    where l._rn = 1
),

head_one as (
    select shipment_id, max(coalesce(shipped_date, ship_date)) as shipped_date, max(carrier_scac) as carrier_scac
    from heads
    group by shipment_id
),

ranked_lines as (
    select p.*, row_number() over (partition by p.shipment_id, p.item_no order by p.shipment_line_no) as item_rank
    from parsed as p
),

-- Only the orders and shipments the 3PL reported: the whole ERP is ten times the 3PL's share, and
-- ranking or grouping all of it cost ~13 s per reader of this view at 10M order lines. Whole
-- orders and whole shipments are kept, so the ranks and minima are the same. Inner joins, not
-- `in (...)`: DuckDB drops an `in` filter under a left join as redundant, and ranks everything.
order_lines as (
    select s.so_no, s.item_no, s.line_no, s.correlation_id,
           row_number() over (partition by s.so_no, s.item_no order by s.line_no) as item_rank
    from {{ ref('stg_erp__sales_order_lines') }} as s
        inner join (select distinct so_no from parsed) as f on f.so_no = s.so_no
),

posted as (
    select s.shipment_id, s.line_no, min(s.so_line_no) as so_line_no, min(s.correlation_id) as correlation_id
    from {{ ref('stg_erp__shipment_lines') }} as s
        inner join (select distinct shipment_id from parsed) as f on f.shipment_id = s.shipment_id
    group by s.shipment_id, s.line_no
)

select
    p.shipment_id,
    p.line_index,
    p.depositor_order_number,
    p.so_no,
    coalesce(e.so_line_no, ol.line_no) as so_line_no,
    coalesce(e.correlation_id, ol.correlation_id) as correlation_id,
    p.item_no,
    p.lot_no,
    p.qty,
    p.uom,
    p.qty * coalesce(u.factor_to_base, 1) as qty_base,
    o.warehouse_code,
    cast(h.shipped_date as {{ dbt.type_timestamp() }}) as shipped_at,
    h.carrier_scac
from ranked_lines as p
    left join head_one as h on h.shipment_id = p.shipment_id
    left join {{ ref('stg_erp__sales_orders') }} as o on o.so_no = p.so_no
    left join posted as e on e.shipment_id = p.shipment_id and e.line_no = p.shipment_line_no
    left join order_lines as ol on ol.so_no = p.so_no and ol.item_no = p.item_no and ol.item_rank = p.item_rank
    left join {{ source('erp', 'item_uoms') }} as u on u.item_no = p.item_no and upper(u.uom) = p.uom
