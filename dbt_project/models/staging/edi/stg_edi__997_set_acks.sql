{#- Functional acknowledgments (997) partners sent for our sets: AK1 group + AK2 set + AK5
    status, one row per acknowledged set (retransmissions collapse). -#}
{%- set str = dbt.type_string() -%}
with acks as (
    select * from {{ source_or_empty('edi', 'x12_997_set_acks', {
        'ack_group_control': str, 'set_id': str, 'set_control': str, 'status': str, 'error_codes': str,
        'isa_sender_id': str, 'isa_receiver_id': str, 'isa_control_number': str, 'source_file': str}) }} as x
)

select
    cast(isa_sender_id as {{ str }}) as partner_isa_id,
    cast(ack_group_control as {{ str }}) as acked_group_control,
    cast(set_control as {{ str }}) as acked_set_control,
    max(cast(set_id as {{ str }})) as acked_set_id,
    max(cast(status as {{ str }})) as status,
    max(cast(error_codes as {{ str }})) as error_codes,
    min(cast(source_file as {{ str }})) as source_file
from acks
where cast(isa_receiver_id as {{ str }}) = '{{ var("our_isa_id") }}'
group by isa_sender_id, ack_group_control, set_control
