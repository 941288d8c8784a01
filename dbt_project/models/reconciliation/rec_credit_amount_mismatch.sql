{#- Credit memo amount vs received quantity x the invoiced unit price (in the RMA line's UoM). -#}
with candidates as (
    select
        rma_no as exception_key,
        correlation_id,
        {{ json_object([('rma_no', 'rma_no'), ('credit_memo_no', 'credit_memo_no'), ('return_receipt_no', 'return_receipt_no'), ('invoice_no', 'invoice_no')]) }} as documents,
        credited_amount - (received_base / uom_factor) * unit_price as difference,
        abs(credited_amount - (received_base / uom_factor) * unit_price) as amount_at_risk,
        credited_at as event_at,
        (received_base / uom_factor) * unit_price as expected_amount
    from {{ ref('fct_rma_lines') }}
    where credit_memo_no is not null and return_receipt_no is not null
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'expected_amount') }}
        and {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    expected_amount
from candidates
    cross join {{ rule('credit_amount_mismatch') }} as r
