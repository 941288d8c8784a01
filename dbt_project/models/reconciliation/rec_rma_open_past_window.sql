{#- An RMA with nothing received and nothing credited after its window (the rule's SLA). -#}
with candidates as (
    select
        rma_no as exception_key,
        correlation_id,
        {{ json_object([('rma_no', 'rma_no'), ('invoice_no', 'invoice_no'), ('so_no', 'so_no')]) }} as documents,
        expected_credit as difference,
        expected_credit as amount_at_risk,
        created_at as event_at
    from {{ ref('fct_rma_lines') }}
    where return_receipt_no is null and credit_memo_no is null
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('rma_open_past_window') }} as r
