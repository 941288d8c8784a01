{#- Every X12 set we sent (855, 856, 810, 940...) with the partner's functional acknowledgment
    (997 AK5): accepted, rejected, or not acknowledged yet. -#}
{%- set str = dbt.type_string() -%}
with sent as (
    select * from {{ source_or_empty('edi', 'x12_transactions', {
        'source_file': str, 'isa_sender_id': str, 'isa_receiver_id': str, 'isa_control_number': str,
        'gs_control_number': str, 'st_control_number': str, 'set_id': str, 'status': str, 'partner': str}) }} as x
    where cast(isa_sender_id as {{ str }}) = '{{ var("our_isa_id") }}' and set_id <> '997'
),

one_copy as (
    select isa_receiver_id, gs_control_number, st_control_number, min(set_id) as set_id,
           min(source_file) as source_file, min(partner) as partner
    from sent
    group by isa_receiver_id, gs_control_number, st_control_number
)

select
    {{ dbt.concat(["s.isa_receiver_id", "':'", "s.gs_control_number", "':'", "s.st_control_number"]) }} as set_key,
    s.partner,
    s.isa_receiver_id as partner_isa_id,
    s.set_id,
    s.gs_control_number,
    s.st_control_number,
    s.source_file,
    a.status as ack_status,
    a.error_codes as ack_error_codes,
    a.source_file as ack_file,
    case when a.status is null then 'unacknowledged' when a.status = 'R' then 'rejected' else 'accepted' end as ack_state
from one_copy as s
    left join {{ ref('stg_edi__997_set_acks') }} as a
        on a.partner_isa_id = s.isa_receiver_id
        and cast(a.acked_group_control as {{ dbt.type_bigint() }}) = cast(s.gs_control_number as {{ dbt.type_bigint() }})
        and a.acked_set_control = s.st_control_number
