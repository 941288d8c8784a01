{#- Every exception type of the rules seed has a rec_ mart in the queue, and the reverse. -#}
with marts as (
    {%- for m in rec_models() %}
    select '{{ m[4:] }}' as exception_type{{ " union all" if not loop.last }}
    {%- endfor %}
)

select coalesce(r.exception_type, m.exception_type) as exception_type
from {{ ref('reconciliation_rules') }} as r
    full outer join marts as m on m.exception_type = r.exception_type
where r.exception_type is null or m.exception_type is null
