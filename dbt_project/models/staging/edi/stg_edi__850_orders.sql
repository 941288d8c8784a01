{#- Purchase orders partners sent us (850), one row per PO (a retransmitted interchange repeats
    it: one copy). BEG05 (PO date) dates it. -#}
{%- set str = dbt.type_string() -%}
with heads as (
    select * from {{ source_or_empty('edi', 'x12_850_headers', {
        'po_number': str, 'po_date': 'date', 'purpose': str, 'amount_total': 'decimal(18, 4)',
        'line_count': dbt.type_bigint(), 'isa_sender_id': str, 'isa_receiver_id': str,
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

lines as (
    select * from {{ source_or_empty('edi', 'x12_850_lines', {
        'quantity': 'decimal(18, 4)', 'unit_price': 'decimal(18, 4)', 'isa_control_number': str,
        'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

valued as (
    select h.*,
        (select sum(l.quantity * l.unit_price) from lines as l
         where l.source_file = h.source_file and l.isa_control_number = h.isa_control_number
           and l.gs_control_number = h.gs_control_number and l.st_control_number = h.st_control_number) as order_value
    from heads as h
),

ranked as (
    select v.*, row_number() over (partition by v.isa_sender_id, v.po_number order by v.source_file, v.isa_control_number) as _rn
    from valued as v
)

select
    cast(r.po_number as {{ str }}) as po_number,
    cast(r.isa_sender_id as {{ str }}) as partner_isa_id,
    cast(r.po_date as date) as po_date,
    cast(r.purpose as {{ str }}) as purpose,
    cast(r.order_value as decimal(18, 2)) as order_value,
    cast(r.line_count as {{ dbt.type_bigint() }}) as line_count,
    cast(r.po_date as {{ dbt.type_timestamp() }}) as received_at,
    cast(r.source_file as {{ str }}) as source_file,
    cast(r.isa_control_number as {{ str }}) as isa_control_number,
    cast(r.gs_control_number as {{ str }}) as gs_control_number,
    cast(r.st_control_number as {{ str }}) as st_control_number
from ranked as r
where r._rn = 1
