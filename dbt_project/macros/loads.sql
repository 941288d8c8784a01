{#- Incremental facts rebuilt from what dlt loaded since they were last built.

    Every raw row carries the `_dlt_load_id` of the load that last wrote it (a merge rewrites a
    changed row with the new id), and each source's `_dlt_loads` table records when each load
    completed (`inserted_at`, stamped as the load commits). A fact keeps, on every row it writes,
    `_loaded_through`: the newest completion time among its sources' loads when it was built.
    The next build reads the loads completed after that, takes the keys their rows touch, and
    rebuilds those keys only (delete+insert).

    Sound because the warehouse has one writer at a time: no load can complete while dbt holds
    the file, so every load dbt did not see completes later than the newest one it saw. A build
    that found nothing to rebuild writes no row and leaves the watermark where it was: the next
    build looks at those loads again and again finds nothing. -#}

{#- The project code's version (`trueup.dbt.code_version`, passed as $TRUEUP_DBT_CODE_VERSION;
    read at run time only, like as_of, so it never invalidates partial parsing). -#}
{% macro code_version() -%}
    {{ return(env_var('TRUEUP_DBT_CODE_VERSION', '') if execute else '') }}
{%- endmacro %}

{#- Whether this build can rebuild only what new loads touched: an incremental build of a table
    that keeps the watermark and was built by this version of the code. Otherwise the table is
    built in full: the first time, after an upgrade of the project (rows of the old logic must
    not stay beside rows of the new), and when dbt runs without trueup's code version. -#}
{% macro builds_from_new_loads() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set version = code_version() -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if not version or '_loaded_through' not in names or '_code_version' not in names -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set other = run_query(
        "select count(*) from " ~ this ~ " where _code_version is distinct from '" ~ version ~ "'"
    ).columns[0].values()[0] -%}
    {{ return(other == 0) }}
{%- endmacro %}

{#- When the newest load this table was built from completed (before the first build: never). -#}
{% macro watermark() -%}
    coalesce((select max(_loaded_through) from {{ this }}), cast('1970-01-01' as {{ dbt.type_timestamp() }}))
{%- endmacro %}

{#- A source's `_dlt_loads`, empty when the source has never loaded (a company without EDI). -#}
{% macro dlt_loads(source_name) -%}
    {{ source_or_empty(source_name, '_dlt_loads', {
        'load_id': dbt.type_string(), 'status': dbt.type_bigint(), 'inserted_at': dbt.type_timestamp()}) }}
{%- endmacro %}

{#- `load_id` of every completed load of `sources` this table has not been built from. -#}
{% macro new_load_ids(sources) -%}
    {%- for name in sources %}
    select load_id from {{ dlt_loads(name) }} as loads
    where status = 0 and inserted_at > {{ watermark() }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The bookkeeping columns every incremental fact writes on its rows: the watermark (when the
    newest completed load of `sources` completed) and the code version that computed them. -#}
{% macro load_bookkeeping(sources) -%}
    {{ loaded_through(sources) }} as _loaded_through,
    cast('{{ code_version() }}' as {{ dbt.type_string() }}) as _code_version
{%- endmacro %}

{#- When the newest completed load of `sources` completed. -#}
{% macro loaded_through(sources) -%}
    (select max(inserted_at) from (
    {%- for name in sources %}
        select inserted_at from {{ dlt_loads(name) }} as loads where status = 0
        {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
    ) as loads)
{%- endmacro %}

{#- Pre-hook of an incremental fact: empty the table when this build must be a full one, so the
    rebuild inserts into an empty table instead of deleting every key first (8x slower). -#}
{% macro clear_unless_built_from_new_loads() -%}
    {%- if is_incremental() and execute and not builds_from_new_loads() -%}
        {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {#- A table from before the bookkeeping columns gets them added in the same transaction,
            which DuckDB refuses after a delete: that one rebuild deletes key by key. -#}
        {%- if '_code_version' in names -%}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- `columns` of the rows of `relation` that new loads wrote (the model defines `new_loads` as
    `new_load_ids(...)`). -#}
{% macro from_new_loads(relation, columns) -%}
    select {{ columns }} from {{ relation }} as written
    where written._dlt_load_id in (select load_id from new_loads)
{%- endmacro %}

{#- Item unit conversions new loads wrote: every line of such an item converts anew. -#}
{% macro changed_item_uoms() -%}
    {{ from_new_loads(source('erp', 'item_uoms'), 'item_no, upper(uom) as uom') }}
{%- endmacro %}

{#- `columns` of the rows of `relations` (incremental models keeping `_loaded_through`) that their
    builds rewrote since this table's watermark: what changed upstream of it. -#}
{% macro rebuilt_since_watermark(relations, columns) -%}
    {%- for relation in relations %}
    select {{ columns }} from {{ relation }} where _loaded_through > {{ watermark() }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- A `where` (or `and`) condition keeping a scan to the correlation ids of the model's
    `candidates` CTE when it builds from new loads, nothing otherwise: a filter on each scan, as
    DuckDB does not push a semi-join through a union or an aggregate. -#}
{% macro only_candidates(only_changed, keyword='where') -%}
    {%- if only_changed %} {{ keyword }} correlation_id in (select c.correlation_id from candidates as c){% endif -%}
{%- endmacro %}

