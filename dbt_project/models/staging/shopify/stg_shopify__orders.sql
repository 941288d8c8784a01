{#- Shopify orders (the channel's own record of an accepted order), latest version per id. -#}
{%- set str = dbt.type_string() -%}
with src as (
    select * from {{ source_or_empty('shopify', 'orders', {
        'id': dbt.type_bigint(), 'name': str, 'created_at': dbt.type_timestamp(), 'updated_at': dbt.type_timestamp(),
        'cancelled_at': dbt.type_timestamp(), 'financial_status': str, 'fulfillment_status': str,
        'total_price': str, 'currency': str, '_dlt_id': str}) }} as x
),

ranked as (
    select src.*, row_number() over (partition by src.id order by src.updated_at desc) as _rn
    from src
)

select
    cast(id as {{ str }}) as shopify_order_id,
    cast(name as {{ str }}) as shopify_order_name,
    {{ utc_ts('created_at') }} as created_at,
    {{ utc_ts('updated_at') }} as updated_at,
    {{ utc_ts('cancelled_at') }} as cancelled_at,
    cast(financial_status as {{ str }}) as financial_status,
    cast(fulfillment_status as {{ str }}) as fulfillment_status,
    cast(total_price as decimal(18, 2)) as total_price,
    cast(currency as {{ str }}) as currency,
    _dlt_id
from ranked
where _rn = 1
