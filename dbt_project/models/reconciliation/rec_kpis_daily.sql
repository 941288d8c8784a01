{#- Reconciliation KPIs at as_of, long format (kpi_date, kpi, dimension, value): open exceptions
    and amount at risk by type / owner / age bucket, auto-match rate, ship-to-invoice latency
    p50/p95, inventory record accuracy, exceptions per 1,000 order lines. A table rebuilt every
    run; the history of runs lives in the exception queue. -#}
{%- set today = 'cast(' ~ as_of() ~ ' as date)' -%}
with open_exc as (
    select
        exception_type,
        owner_team,
        amount_at_risk,
        case
            when age_hours < 24 then '0-24h'
            when age_hours < 72 then '1-3d'
            when age_hours < 168 then '3-7d'
            when age_hours < 720 then '7-30d'
            else '30d+'
        end as age_bucket
    from {{ ref('exceptions') }}
    where status = 'open'
),

lines as (
    select count(*) as order_lines from {{ ref('fct_order_lines') }}
),

line_status as (
    select
        count(*) as lines,
        sum(case when open_exceptions = 0 then 1 else 0 end) as clean_lines
    from {{ ref('fct_order_line_status') }}
    where posted_base > 0
),

latency as (
    select {{ hours_between('s.shipped_at', 'i.invoiced_at') }} as hours
    from (
        select shipment_id, correlation_id, min(shipped_at) as shipped_at
        from {{ ref('fct_shipment_lines') }}
        where source_system = 'erp'
        group by shipment_id, correlation_id
    ) as s
        inner join (
            select shipment_id, correlation_id, min(invoiced_at) as invoiced_at
            from {{ ref('fct_invoice_lines') }}
            where source_system = 'erp'
            group by shipment_id, correlation_id
        ) as i on i.shipment_id = s.shipment_id and i.correlation_id = s.correlation_id
),

inventory as (
    select
        count(*) as keys,
        sum(case when is_exception then 0 else 1 end) as accurate_keys
    from {{ ref('rec_inventory_variance') }}
    where is_latest_snapshot
),

kpis as (
    select 'open_exceptions' as kpi, {{ dbt.concat(["'type='", "exception_type"]) }} as dimension,
           cast(count(*) as decimal(18, 4)) as value
    from open_exc group by exception_type
    union all
    select 'amount_at_risk', {{ dbt.concat(["'type='", "exception_type"]) }}, cast(sum(amount_at_risk) as decimal(18, 4))
    from open_exc group by exception_type
    union all
    select 'open_exceptions', {{ dbt.concat(["'owner='", "owner_team"]) }}, cast(count(*) as decimal(18, 4))
    from open_exc group by owner_team
    union all
    select 'amount_at_risk', {{ dbt.concat(["'owner='", "owner_team"]) }}, cast(sum(amount_at_risk) as decimal(18, 4))
    from open_exc group by owner_team
    union all
    select 'open_exceptions', {{ dbt.concat(["'age='", "age_bucket"]) }}, cast(count(*) as decimal(18, 4))
    from open_exc group by age_bucket
    union all
    select 'open_exceptions', 'all', cast(count(*) as decimal(18, 4)) from open_exc
    union all
    select 'amount_at_risk', 'all', cast(coalesce(sum(amount_at_risk), 0) as decimal(18, 4)) from open_exc
    union all
    select 'exceptions_per_1000_order_lines', 'all',
           cast(1000.0 * (select count(*) from open_exc) / nullif(order_lines, 0) as decimal(18, 4))
    from lines
    union all
    select 'auto_match_rate', 'shipped_order_lines', cast(1.0 * clean_lines / nullif(lines, 0) as decimal(18, 4))
    from line_status
    union all
    select 'ship_to_invoice_hours_p50', 'all',
           cast(percentile_cont(0.5) within group (order by hours) as decimal(18, 4)) from latency
    union all
    select 'ship_to_invoice_hours_p95', 'all',
           cast(percentile_cont(0.95) within group (order by hours) as decimal(18, 4)) from latency
    union all
    select 'inventory_record_accuracy', 'latest_snapshot', cast(1.0 * accurate_keys / nullif(keys, 0) as decimal(18, 4))
    from inventory
)

select {{ today }} as kpi_date, kpi, dimension, value
from kpis
