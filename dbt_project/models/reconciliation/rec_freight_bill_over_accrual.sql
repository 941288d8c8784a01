{#- Carrier bill above the ERP freight accrual of the same shipment beyond the audit tolerance
    (unplanned accessorials, re-rates). Needs both: an unaccrued shipment is another problem. -#}
with candidates as (
    select
        shipment_id as exception_key,
        first_correlation_id as correlation_id,
        {{ json_object([('shipment_id', 'shipment_id'), ('tracking_no', 'tracking_no'),
                        ('freight_invoice_no', 'freight_invoice_no'), ('accrual_no', 'accrual_no')]) }} as documents,
        bill_minus_accrual as difference,
        bill_minus_accrual as amount_at_risk,
        billed_at as event_at,
        accrued_amount,
        billed_amount,
        accessorial_code
    from {{ ref('fct_freight') }}
    where accrued_amount is not null and billed_amount is not null and bill_minus_accrual > 0
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'accrued_amount') }}
        and {{ hours_between('event_at', as_of()) }} >= r.sla_hours as is_exception,
    accrued_amount,
    billed_amount,
    accessorial_code
from candidates
    cross join {{ rule('freight_bill_over_accrual') }} as r
