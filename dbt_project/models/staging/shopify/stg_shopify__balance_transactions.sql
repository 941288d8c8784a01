{#- Shopify Payments balance transactions (charges and refunds with their fees). -#}
{%- set str = dbt.type_string() -%}
with src as (
    select * from {{ source_or_empty('shopify', 'balance_transactions', {
        'id': dbt.type_bigint(), 'type': str, 'payout_id': dbt.type_bigint(), 'payout_status': str,
        'amount': str, 'fee': str, 'net': str, 'source_order_id': dbt.type_bigint(),
        'processed_at': dbt.type_timestamp()}) }} as x
),

ranked as (
    select src.*, row_number() over (partition by src.id order by src.payout_id desc nulls last) as _rn
    from src
)

select
    cast(id as {{ str }}) as balance_transaction_id,
    cast(type as {{ str }}) as transaction_type,
    cast(payout_id as {{ str }}) as payout_id,
    cast(payout_status as {{ str }}) as payout_status,
    cast(amount as decimal(18, 2)) as amount,
    cast(fee as decimal(18, 2)) as fee,
    cast(net as decimal(18, 2)) as net,
    cast(source_order_id as {{ str }}) as shopify_order_id,
    {{ utc_ts('processed_at') }} as processed_at
from ranked
where _rn = 1
