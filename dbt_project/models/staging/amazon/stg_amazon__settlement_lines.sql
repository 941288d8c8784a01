{#- Amazon settlement detail lines: one amount component of one order item (or refund, or
    other transaction) in one settlement. -#}
{%- set str = dbt.type_string() -%}
with src as (
    select * from {{ source_or_empty('amazon', 'settlement_lines', {
        'settlement_id': str, 'source_line': dbt.type_bigint(), 'transaction_type': str, 'order_id': str,
        'adjustment_id': str, 'shipment_id': str, 'amount_type': str, 'amount_description': str,
        'amount': 'decimal(18, 2)', 'posted_date_time': dbt.type_timestamp(), 'order_item_code': str,
        'sku': str, 'quantity_purchased': dbt.type_bigint()}) }} as x
)

select
    cast(settlement_id as {{ str }}) as settlement_id,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(transaction_type as {{ str }}) as transaction_type,
    nullif(cast(order_id as {{ str }}), '') as amazon_order_id,
    nullif(cast(adjustment_id as {{ str }}), '') as adjustment_id,
    nullif(cast(shipment_id as {{ str }}), '') as shipment_id,
    cast(amount_type as {{ str }}) as amount_type,
    cast(amount_description as {{ str }}) as amount_description,
    cast(amount as decimal(18, 2)) as amount,
    {{ utc_ts('posted_date_time') }} as posted_at,
    nullif(cast(order_item_code as {{ str }}), '') as order_item_code,
    nullif(cast(sku as {{ str }}), '') as sku,
    cast(quantity_purchased as {{ dbt.type_bigint() }}) as quantity
from src
