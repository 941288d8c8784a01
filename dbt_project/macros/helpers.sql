{#- Small cross-database helpers used across layers. -#}

{#- A source table, or an empty typed relation when the source has not been loaded yet (a
    company with no 3PL has no 945s; a source whose connector has not run yet has no schema).
    Downstream models then build and simply find nothing in that system. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- set found = none -%}
    {%- set is_fixture = '__dbt__cte__' in (rel | string) -%}
    {%- if execute and not is_fixture -%}
        {%- set found = adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) -%}
    {%- endif -%}
    {%- if found is not none or is_fixture -%}
        (select * from {{ rel }})
    {%- else -%}
        (select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- Text timestamps ('2026-01-05T10:00:00Z') and native timestamps alike, as UTC timestamp. -#}
{% macro to_ts(expr) -%}
    cast({{ expr }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A JSON object as text from (key, sql expression) pairs; NULL values are omitted. Text only
    (concat_ws skips NULLs on DuckDB and PostgreSQL alike), so it reads the same everywhere. -#}
{% macro json_object(pairs) -%}
    '{' || concat_ws(', '
    {%- for key, expr in pairs -%}
        , case when ({{ expr }}) is null then null else '"{{ key }}": "' || replace(cast({{ expr }} as {{ dbt.type_string() }}), '"', '') || '"' end
    {%- endfor -%}
    ) || '}'
{%- endmacro %}

{#- A zone-aware value (timestamptz, or ISO text with Z/offset) as a UTC wall-clock timestamp,
    whatever the session time zone is. The ERP's naive timestamps are already UTC: use to_ts. -#}
{% macro utc_ts(expr) -%}
    {{ return(adapter.dispatch('utc_ts')(expr)) }}
{%- endmacro %}

{% macro default__utc_ts(expr) -%}
    cast(cast({{ expr }} as timestamp with time zone) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__utc_ts(expr) -%}
    timezone('UTC', cast({{ expr }} as timestamp with time zone))
{%- endmacro %}

{#- How far an amount lies outside [exact rounded down, exact rounded up] to the cent: 0 for
    any rounding of `exact`, else the distance to the nearest bound. -#}
{% macro outside_cent_band(amount, exact) -%}
    greatest(
        cast(0 as decimal(18, 2)),
        {{ amount }} - ceil(({{ exact }}) * 100) / 100,
        floor(({{ exact }}) * 100) / 100 - {{ amount }})
{%- endmacro %}

{#- A unit-of-measure code as the ERP spells it (partners write CS for a case...): the alias
    table is a seed (seeds/uom_aliases.csv), so a new partner code is a row, not code. -#}
{% macro uom_code(expr) -%}
    coalesce((select a.uom from {{ ref('uom_aliases') }} as a where a.alias = upper(trim(cast({{ expr }} as {{ dbt.type_string() }})))), upper(trim(cast({{ expr }} as {{ dbt.type_string() }}))))
{%- endmacro %}

{#- One key of a JSON object stored as text, as text (NULL when absent). -#}
{% macro json_text(expr, key) -%}
    {{ return(adapter.dispatch('json_text')(expr, key)) }}
{%- endmacro %}

{% macro default__json_text(expr, key) -%}
    (cast({{ expr }} as json) ->> '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_text(expr, key) -%}
    json_extract_string({{ expr }}, '$.{{ key }}')
{%- endmacro %}
