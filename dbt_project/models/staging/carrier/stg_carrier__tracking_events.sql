{#- Carrier tracking scans (webhooks), one row per event id; the shipment reference is ours. -#}
{%- set str = dbt.type_string() -%}
with src as (
    select * from {{ source_or_empty('carrier', 'tracking_events', {
        'id': str, 'carrier': str, 'tracking_code': str, 'status': str, 'status_detail': str,
        'datetime': dbt.type_timestamp(), 'shipment_reference': str}) }} as x
),

ranked as (
    select src.*, row_number() over (partition by src.id order by src.datetime) as _rn
    from src
)

select
    cast(id as {{ str }}) as event_id,
    cast(carrier as {{ str }}) as carrier,
    cast(tracking_code as {{ str }}) as tracking_no,
    cast(status as {{ str }}) as status,
    cast(status_detail as {{ str }}) as status_detail,
    {{ utc_ts('datetime') }} as event_at,
    cast(shipment_reference as {{ str }}) as shipment_id
from ranked
where _rn = 1
