{#- Cash the ERP holds unapplied on a receipt (e.g. an invoice paid twice). -#}
with candidates as (
    select
        coalesce(reference, receipt_no) as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('receipt_no', 'receipt_no'), ('reference', 'reference'), ('customer_no', 'customer_no')]) }} as documents,
        unapplied_amount as difference,
        unapplied_amount as amount_at_risk,
        posted_at as event_at
    from {{ ref('stg_erp__cash_receipts') }}
    where unapplied_amount > 0
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'amount_at_risk') }}
        and {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('unapplied_cash') }} as r
