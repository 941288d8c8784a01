{#- Marketplace money per order: what the marketplace settled (gross, fees) vs what the fee
    schedule (ERP channel_fee_rates) and the ERP order say it should be. A fee rounded either way
    (anything between the schedule's value rounded down and up to the cent) is on schedule:
    marketplaces round per item with their own float arithmetic, so neither half-up nor
    half-even reproduces them; fee_excess is what lies outside that band.
    Shopify: the Payments charge of the order. Amazon: the 'Order' lines of closed settlement
    reports (a report exists only once its period closed). -#}
with fees as (
    select channel, fee_pct, fee_fixed from {{ ref('stg_erp__channel_fee_rates') }}
),

erp_orders as (
    select o.so_no, o.channel, o.channel_order_ref, o.total_amount,
           (select count(*) from {{ ref('stg_erp__invoices') }} as i where i.so_no = o.so_no) as invoice_count,
           (select min(i.invoiced_at) from {{ ref('stg_erp__invoices') }} as i where i.so_no = o.so_no) as first_invoiced_at
    from {{ ref('stg_erp__sales_orders') }} as o
    where o.channel_order_ref is not null
),

shopify as (
    select
        'shopify' as channel,
        t.shopify_order_id as marketplace_order_id,
        min(t.processed_at) as settled_at,
        min(t.payout_id) as settlement_id,
        sum(t.amount) as gross_amount,
        sum(t.fee) as fee_amount,
        sum(round(t.amount * f.fee_pct, 2) + f.fee_fixed) as expected_fee_amount,
        sum({{ outside_cent_band('t.fee', 't.amount * f.fee_pct + f.fee_fixed') }}) as fee_excess,
        cast(null as decimal(18, 2)) as expected_gross_amount
    from {{ ref('stg_shopify__balance_transactions') }} as t
        cross join (select * from fees where channel = 'shopify') as f
    where t.transaction_type = 'charge'
    group by t.shopify_order_id
),

amazon_items as (
    select
        l.amazon_order_id,
        l.order_item_code,
        min(l.settlement_id) as settlement_id,
        min(l.posted_at) as posted_at,
        sum(case when l.amount_description = 'Principal' then l.amount else 0 end) as principal,
        -sum(case when l.amount_type = 'ItemFees' then l.amount else 0 end) as fees
    from {{ ref('stg_amazon__settlement_lines') }} as l
    where l.transaction_type = 'Order'
    group by l.amazon_order_id, l.order_item_code
),

amazon as (
    select
        'amazon' as channel,
        a.amazon_order_id as marketplace_order_id,
        min(a.posted_at) as settled_at,
        min(a.settlement_id) as settlement_id,
        sum(a.principal) as gross_amount,
        sum(a.fees) as fee_amount,
        sum(round(a.principal * f.fee_pct, 2) + f.fee_fixed) as expected_fee_amount,
        sum({{ outside_cent_band('a.fees', 'a.principal * f.fee_pct + f.fee_fixed') }}) as fee_excess,
        sum(ol.extended_amount) as expected_gross_amount
    from amazon_items as a
        cross join (select * from fees where channel = 'amazon') as f
        left join {{ ref('fct_order_lines') }} as ol
            on ol.channel = 'amazon' and ol.channel_order_ref = a.amazon_order_id
            and ol.channel_line_ref = a.order_item_code
    group by a.amazon_order_id
),

settled as (
    select * from shopify
    union all
    select * from amazon
)

select
    s.channel,
    s.marketplace_order_id,
    {{ dbt.concat(["s.channel", "':'", "s.marketplace_order_id"]) }} as marketplace_key,
    e.so_no,
    s.settlement_id,
    s.settled_at,
    s.gross_amount,
    s.fee_amount,
    s.expected_fee_amount,
    coalesce(s.expected_gross_amount, e.total_amount) as expected_gross_amount,
    e.invoice_count,
    e.first_invoiced_at,
    s.fee_excess,
    s.fee_excess + abs(s.gross_amount - coalesce(s.expected_gross_amount, e.total_amount)) as mismatch_amount
from settled as s
    left join erp_orders as e on e.channel = s.channel and e.channel_order_ref = s.marketplace_order_id
