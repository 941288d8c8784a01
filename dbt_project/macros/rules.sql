{#- Reconciliation rules are data (seeds/reconciliation_rules.csv); these macros apply them the
    same way in every mart. -#}

{#- The observation time every age and SLA is measured from: the `as_of` var, else
    $TRUEUP_AS_OF (what `trueup run` sets), else now. The environment is read at run time only
    (`execute`): a value that changes every run then leaves dbt's partial parse valid, where a
    changed --vars forces a full re-parse (~5 s per run). -#}
{% macro as_of() -%}
    {%- set value = var('as_of', none) or (env_var('TRUEUP_AS_OF', '') if execute else '') -%}
    {%- if value -%}cast('{{ value }}' as timestamp){%- else -%}cast(current_timestamp as timestamp){%- endif -%}
{%- endmacro %}

{#- A difference is within tolerance when |diff| <= max(tolerance_abs, tolerance_pct * |reference|). -#}
{% macro outside_tolerance(diff, reference, rules_alias='r') -%}
    (abs({{ diff }}) > greatest({{ rules_alias }}.tolerance_abs, {{ rules_alias }}.tolerance_pct * abs({{ reference }})) + 0.000001)
{%- endmacro %}

{% macro severity(amount, rules_alias='r') -%}
    case
        when {{ amount }} >= {{ rules_alias }}.severity_high_amount then 'high'
        when {{ amount }} >= {{ rules_alias }}.severity_medium_amount then 'medium'
        else 'low'
    end
{%- endmacro %}

{#- Hours between two timestamps, portable across DuckDB and PostgreSQL. -#}
{% macro hours_between(start_ts, end_ts) -%}
    ({{ dbt.datediff(start_ts, end_ts, 'second') }} / 3600.0)
{%- endmacro %}

{#- The rules row of one exception type, as a relation to cross join (alias it `r`). -#}
{% macro rule(exception_type) -%}
    (select * from {{ ref('reconciliation_rules') }} where exception_type = '{{ exception_type }}')
{%- endmacro %}

{#- The columns every rec_ mart ends with. Expects the rules row aliased `r` and, per row:
    exception_key, correlation_id, documents, difference, amount_at_risk, event_at (when the
    clock of the SLA started) and is_candidate (the condition holds, before SLA/tolerance). -#}
{% macro rec_columns(rules_alias='r') -%}
    {{ rules_alias }}.exception_type,
    exception_key,
    correlation_id,
    documents,
    cast(difference as decimal(18, 4)) as difference,
    cast(round(amount_at_risk, 2) as decimal(18, 2)) as amount_at_risk,
    {{ rules_alias }}.owner_team,
    {{ severity('amount_at_risk', rules_alias) }} as severity,
    event_at,
    {{ dbt.dateadd('second', rules_alias ~ '.sla_hours * 3600', 'event_at') }} as sla_due,
    case when event_at is null then null
         else {{ dbt.dateadd('second', rules_alias ~ '.sla_hours * 3600', 'event_at') }} end as detected_at,
    cast(round(cast({{ hours_between('event_at', as_of()) }} as decimal(18, 4)), 2) as decimal(18, 2)) as age_hours
{%- endmacro %}
