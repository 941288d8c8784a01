{#- The 3PL's daily inventory advice (846): on-hand (QTY 17) per item, in base units, one report
    per date (the latest transmission wins). The 846 LIN carries no lot we can read (the X12
    reader maps no LT qualifier), so the lot is the ERP's lot of that item in that warehouse
    when the ERP has exactly one (one open lot per item and warehouse). -#}
{%- set str = dbt.type_string() -%}
with qty as (
    select * from {{ source_or_empty('edi', 'x12_846_quantities', {
        'report_number': str, 'line_number': str, 'vendor_item': str, 'qualifier': str,
        'quantity': 'decimal(18, 4)', 'uom': str, 'location': str, 'isa_control_number': str,
        'gs_control_number': str, 'st_control_number': str}) }} as x
),

heads as (
    select * from {{ source_or_empty('edi', 'x12_846_headers', {
        'report_number': str, 'report_date': 'date', 'warehouse_id': str, 'warehouse_name': str,
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

ranked as (
    select
        h.report_date,
        h.report_number,
        q.vendor_item,
        q.qualifier,
        q.quantity,
        q.uom,
        row_number() over (
            partition by h.report_date, q.vendor_item, q.qualifier
            order by h.isa_control_number desc, h.st_control_number desc) as _rn
    from qty as q
        inner join heads as h
            on h.source_file = q.source_file
            and h.isa_control_number = q.isa_control_number
            and h.gs_control_number = q.gs_control_number
            and h.st_control_number = q.st_control_number
    where q.qualifier in ('17', '33')
),

erp_lots as (
    select item_no, min(lot_no) as lot_no
    from {{ ref('stg_erp__inventory_balances') }}
    where warehouse_code = '{{ var("three_pl_warehouse") }}'
    group by item_no
    having count(distinct lot_no) = 1
)

select
    cast(r.report_date as date) as snapshot_date,
    '{{ var("three_pl_warehouse") }}' as warehouse_code,
    cast(r.vendor_item as {{ str }}) as item_no,
    coalesce(max(l.lot_no), '') as lot_no,
    cast(max(r.quantity) as {{ dbt.type_bigint() }}) * max(coalesce(u.factor_to_base, 1)) as on_hand_base
from ranked as r
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = r.vendor_item and u.uom = {{ uom_code('r.uom') }}
    left join erp_lots as l on l.item_no = r.vendor_item
where r._rn = 1 and r.qualifier = '17'
group by r.report_date, r.vendor_item
