{#- A credit memo for an RMA nothing has been received against (credits are issued on receipt). -#}
with candidates as (
    select
        rma_no as exception_key,
        correlation_id,
        {{ json_object([('rma_no', 'rma_no'), ('credit_memo_no', 'credit_memo_no'), ('invoice_no', 'invoice_no'), ('so_no', 'so_no')]) }} as documents,
        credited_amount as difference,
        credited_amount as amount_at_risk,
        credited_at as event_at
    from {{ ref('fct_rma_lines') }}
    where credit_memo_no is not null and return_receipt_no is null
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('return_credited_not_received') }} as r
