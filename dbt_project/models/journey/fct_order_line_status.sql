{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='correlation_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ clear_unless_built_from_new_loads() }}",
) }}
{#- Where each order line's document chain stands now: quantities ordered / shipped / posted /
    invoiced (base units), payment, returns, open exceptions, and one status word.
    On DuckDB it is rebuilt only for the order lines whose documents changed since its last
    build (order, shipment and invoice lines and journey events rebuilt since then: the journey
    covers cash and returns) or whose count of open exceptions moved (macros/loads.sql). -#}
{%- set only_changed = builds_from_new_loads() %}
{%- set sources = ['erp', 'wms', 'edi', 'carrier'] %}
{%- set where_candidate = only_candidates(only_changed) %}
{%- set and_candidate = only_candidates(only_changed, 'and') %}
with
{%- if only_changed %}
open_now as (
    select correlation_id, count(*) as open_exceptions
    from {{ ref('exceptions') }}
    where status = 'open' and correlation_id is not null
    group by correlation_id
),

candidates as (
    {{ rebuilt_since_watermark([
        ref('fct_order_lines'), ref('fct_shipment_lines'), ref('fct_invoice_lines'), ref('order_journey')],
        'correlation_id') }}
    union
    select coalesce(n.correlation_id, t.correlation_id)
    from open_now as n
        full outer join (
            select correlation_id, open_exceptions from {{ this }} where open_exceptions > 0
        ) as t on t.correlation_id = n.correlation_id
    where coalesce(n.open_exceptions, 0) <> coalesce(t.open_exceptions, 0)
),
{%- endif %}

shipped as (
    select correlation_id,
           max(case when source_system in ('wms', '945') then q end) as shipped_base,
           max(case when source_system = 'erp' then q end) as posted_base
    from (
        select correlation_id, source_system, sum(qty_base) as q
        from {{ ref('fct_shipment_lines') }}
        where not is_duplicate_posting{{ and_candidate }}
        group by correlation_id, source_system
    ) as x
    group by correlation_id
),

invoiced as (
    select correlation_id, sum(qty_base) as invoiced_base, count(distinct invoice_no) as invoices,
           max(invoiced_at) as last_invoiced_at
    from {{ ref('fct_invoice_lines') }}
    where source_system = 'erp'{{ and_candidate }}
    group by correlation_id
),

paid as (
    select il.correlation_id, max(c.applied_at) as last_paid_at
    from {{ ref('fct_cash_applications') }} as c
        inner join (
            select distinct invoice_no, correlation_id from {{ ref('fct_invoice_lines') }}
            where source_system = 'erp'{{ and_candidate }}
        ) as il
            on il.invoice_no = c.invoice_no
    group by il.correlation_id
),

returns as (
    select correlation_id, count(*) as rmas, max(credit_memo_no) as credit_memo_no
    from {{ ref('fct_rma_lines') }}{{ where_candidate }}
    group by correlation_id
),

open_exceptions as (
    select correlation_id, count(*) as open_exceptions
    from {{ ref('exceptions') }}
    where status = 'open' and correlation_id is not null{{ and_candidate }}
    group by correlation_id
),

last_event as (
    select correlation_id, max(event_at) as last_event_at
    from {{ ref('order_journey') }}{{ where_candidate }}
    group by correlation_id
)

select
    o.correlation_id,
    o.so_no,
    o.line_no,
    o.channel,
    o.customer_no,
    o.customer_po,
    o.channel_order_ref,
    o.item_no,
    o.qty_base as ordered_base,
    coalesce(s.shipped_base, s.posted_base, 0) as shipped_base,
    coalesce(s.posted_base, 0) as posted_base,
    coalesce(i.invoiced_base, 0) as invoiced_base,
    coalesce(i.invoices, 0) as invoices,
    p.last_paid_at,
    coalesce(r.rmas, 0) as rmas,
    coalesce(x.open_exceptions, 0) as open_exceptions,
    le.last_event_at,
    case
        when r.credit_memo_no is not null then 'returned_credited'
        when r.rmas > 0 then 'return_open'
        when p.last_paid_at is not null then 'paid'
        when coalesce(i.invoiced_base, 0) >= o.qty_base then 'invoiced'
        when coalesce(i.invoiced_base, 0) > 0 then 'partially_invoiced'
        when coalesce(s.posted_base, 0) >= o.qty_base then 'shipped'
        when coalesce(s.shipped_base, s.posted_base, 0) > 0 then 'partially_shipped'
        else 'open'
    end as chain_status,
    {{ load_bookkeeping(sources) }}
from {{ ref('fct_order_lines') }} as o
    left join shipped as s on s.correlation_id = o.correlation_id
    left join invoiced as i on i.correlation_id = o.correlation_id
    left join paid as p on p.correlation_id = o.correlation_id
    left join returns as r on r.correlation_id = o.correlation_id
    left join open_exceptions as x on x.correlation_id = o.correlation_id
    left join last_event as le on le.correlation_id = o.correlation_id
{%- if only_changed %}
where o.correlation_id in (select c.correlation_id from candidates as c)
{%- endif %}
