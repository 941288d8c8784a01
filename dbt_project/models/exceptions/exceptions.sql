{{ config(
    materialized='incremental',
    unique_key='exception_id',
    incremental_strategy=queue_strategy(),
    on_schema_change='append_new_columns',
) }}
{#- The exception queue: every open exception of every rec_ mart, persistent across runs.
    A run observes the sources at as_of: an exception seen now is open (first_detected_at kept
    from its first run); one open before and not seen now is resolved at as_of, never deleted.
    exception_id = hash(type | key), stable across runs. -#}
with current_exceptions as (
    {%- for m in rec_models() %}
    select
        exception_type,
        exception_key,
        correlation_id,
        documents,
        cast(difference as decimal(18, 4)) as difference,
        cast(amount_at_risk as decimal(18, 2)) as amount_at_risk,
        owner_team,
        severity,
        detected_at,
        sla_due,
        age_hours
    from {{ ref(m) }}
    where is_exception
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

observed as (
    select
        {{ dbt.hash(dbt.concat(["exception_type", "'|'", "exception_key"])) }} as exception_id,
        *
    from current_exceptions
)

{% if is_incremental() %}
, previous as (
    select * from {{ this }}
)

select
    coalesce(o.exception_id, p.exception_id) as exception_id,
    coalesce(o.exception_type, p.exception_type) as exception_type,
    coalesce(o.exception_key, p.exception_key) as exception_key,
    coalesce(o.correlation_id, p.correlation_id) as correlation_id,
    coalesce(o.severity, p.severity) as severity,
    coalesce(o.owner_team, p.owner_team) as owner_team,
    coalesce(o.amount_at_risk, p.amount_at_risk) as amount_at_risk,
    coalesce(o.difference, p.difference) as difference,
    coalesce(o.documents, p.documents) as documents,
    coalesce(o.detected_at, p.detected_at) as detected_at,
    coalesce(p.first_detected_at, {{ as_of() }}) as first_detected_at,
    case when o.exception_id is not null then {{ as_of() }} else p.last_seen_at end as last_seen_at,
    coalesce(o.sla_due, p.sla_due_at) as sla_due_at,
    coalesce(o.age_hours, p.age_hours) as age_hours,
    case when o.exception_id is not null then 'open' else 'resolved' end as status,
    case when o.exception_id is not null then cast(null as {{ dbt.type_timestamp() }})
         else {{ as_of() }} end as resolved_at
from observed as o
    full outer join previous as p on p.exception_id = o.exception_id
-- unchanged history (resolved before, still absent) is left as it is
where o.exception_id is not null or p.status = 'open'
{% else %}
select
    exception_id,
    exception_type,
    exception_key,
    correlation_id,
    severity,
    owner_team,
    amount_at_risk,
    difference,
    documents,
    detected_at,
    {{ as_of() }} as first_detected_at,
    {{ as_of() }} as last_seen_at,
    sla_due as sla_due_at,
    age_hours,
    'open' as status,
    cast(null as {{ dbt.type_timestamp() }}) as resolved_at
from observed
{% endif %}
