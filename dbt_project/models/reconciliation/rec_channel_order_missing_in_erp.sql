{#- An order a channel accepted (EDI 850, Shopify order) with no ERP sales order after the SLA.
    Amazon orders surface only in settlements (after shipping), inside sales are keyed in the
    ERP itself: neither can be missing this way. -#}
with channel_orders as (
    select 'edi' as channel, po_number as channel_order_ref, received_at as accepted_at,
           order_value, source_file as document
    from {{ ref('stg_edi__850_orders') }}
    where purpose is null or purpose = '00'
    union all
    select 'shopify', shopify_order_id, created_at, total_price, shopify_order_name
    from {{ ref('stg_shopify__orders') }}
    where cancelled_at is null
),

candidates as (
    select
        {{ dbt.concat(["c.channel", "':'", "c.channel_order_ref"]) }} as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('channel', 'c.channel'), ('channel_order_ref', 'c.channel_order_ref'), ('document', 'c.document')]) }} as documents,
        c.order_value as difference,
        c.order_value as amount_at_risk,
        c.accepted_at as event_at
    from channel_orders as c
        left join {{ ref('stg_erp__sales_orders') }} as s
            on s.channel = c.channel and s.channel_order_ref = c.channel_order_ref
    where s.so_no is null
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('channel_order_missing_in_erp') }} as r
