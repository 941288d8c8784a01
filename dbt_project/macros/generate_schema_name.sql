{#- Schemas are named by layer (staging, canonical, marts, rules), not prefixed with the target
    schema: the warehouse path then reads the same in dbt, Dagster asset keys and a BI tool. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
