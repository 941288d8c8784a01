{#- Amazon settlement summaries: period, deposit date and the total deposited. -#}
{%- set str = dbt.type_string() -%}
with src as (
    select * from {{ source_or_empty('amazon', 'settlements', {
        'settlement_id': str, 'settlement_start_date': dbt.type_timestamp(), 'settlement_end_date': dbt.type_timestamp(),
        'deposit_date': dbt.type_timestamp(), 'total_amount': 'decimal(18, 2)', 'currency': str}) }} as x
)

select
    cast(settlement_id as {{ str }}) as settlement_id,
    {{ utc_ts('settlement_start_date') }} as settlement_start_at,
    {{ utc_ts('settlement_end_date') }} as settlement_end_at,
    {{ utc_ts('deposit_date') }} as deposit_at,
    cast(total_amount as decimal(18, 2)) as total_amount,
    cast(currency as {{ str }}) as currency
from src
