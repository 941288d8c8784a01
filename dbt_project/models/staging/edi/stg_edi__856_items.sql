{#- Advance ship notices we sent (856): shipped quantity per shipment (BSN02) x item, in base
    units. One copy per shipment: a retransmission repeats it. -#}
{%- set str = dbt.type_string() -%}
with items as (
    select * from {{ source_or_empty('edi', 'x12_856_items', {
        'shipment_id': str, 'vendor_item': str, 'units_shipped': 'decimal(18, 4)', 'uom': str,
        'po_number': str, 'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str,
        'source_file': str}) }} as x
),

heads as (
    select * from {{ source_or_empty('edi', 'x12_856_shipments', {
        'shipment_id': str, 'ship_date': 'date', 'shipment_date': 'date', 'isa_control_number': str,
        'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

first_copy as (
    select shipment_id, source_file, isa_control_number, gs_control_number, st_control_number,
           coalesce(ship_date, shipment_date) as ship_date
    from (
        select h.*, row_number() over (
            partition by h.shipment_id order by h.source_file, h.isa_control_number, h.st_control_number) as _rn
        from heads as h
    ) as x
    where _rn = 1
)

select
    cast(h.shipment_id as {{ str }}) as shipment_id,
    cast(i.vendor_item as {{ str }}) as item_no,
    max(cast(i.po_number as {{ str }})) as po_number,
    cast(max(h.ship_date) as {{ dbt.type_timestamp() }}) as ship_date,
    sum(cast(i.units_shipped as {{ dbt.type_bigint() }}) * coalesce(u.factor_to_base, 1)) as qty_base
from first_copy as h
    inner join items as i
        on i.source_file = h.source_file and i.isa_control_number = h.isa_control_number
        and i.gs_control_number = h.gs_control_number and i.st_control_number = h.st_control_number
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = i.vendor_item and u.uom = {{ uom_code('i.uom') }}
group by h.shipment_id, i.vendor_item
