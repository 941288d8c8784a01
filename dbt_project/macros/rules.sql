{#- Reconciliation rules are data (seeds/reconciliation_rules.csv); these macros apply them the
    same way in every mart. -#}

{#- The observation time every age and SLA is measured from. -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}cast('{{ var("as_of") }}' as timestamp){%- else -%}cast(current_timestamp as timestamp){%- endif -%}
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
