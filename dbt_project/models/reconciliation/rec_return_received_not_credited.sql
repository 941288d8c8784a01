{#- Goods received back against an RMA, no credit memo yet; the clock starts at receipt. -#}
with candidates as (
    select
        rma_no as exception_key,
        correlation_id,
        {{ json_object([('rma_no', 'rma_no'), ('return_receipt_no', 'return_receipt_no'), ('invoice_no', 'invoice_no'), ('so_no', 'so_no')]) }} as documents,
        expected_credit as difference,
        expected_credit as amount_at_risk,
        received_at as event_at
    from {{ ref('fct_rma_lines') }}
    where return_receipt_no is not null and credit_memo_no is null
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('return_received_not_credited') }} as r
