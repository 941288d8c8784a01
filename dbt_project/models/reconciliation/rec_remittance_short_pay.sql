{#- A remittance that paid an invoice less than its total net of the discount taken. Read from
    the ERP's cash applications and from the 820s (a remittance received but not yet applied
    in the ERP is already known from its 820). -#}
with erp as (
    select
        trace_no,
        invoice_no,
        receipt_no,
        received_at,
        invoice_total - discount_taken - amount_applied as short_amount,
        invoice_total - discount_taken as expected_amount
    from {{ ref('fct_cash_applications') }}
),

edi as (
    select
        trace_no,
        invoice_no,
        cast(null as {{ dbt.type_string() }}) as receipt_no,
        paid_at as received_at,
        invoice_amount - discount_amount - paid_amount as short_amount,
        invoice_amount - discount_amount as expected_amount
    from {{ ref('fct_remittances') }}
),

combined as (
    select
        trace_no,
        invoice_no,
        max(receipt_no) as receipt_no,
        min(received_at) as received_at,
        max(short_amount) as short_amount,
        max(expected_amount) as expected_amount
    from (select * from erp union all select * from edi) as x
    group by trace_no, invoice_no
),

candidates as (
    select
        {{ dbt.concat(["trace_no", "':'", "invoice_no"]) }} as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('trace_no', 'trace_no'), ('invoice_no', 'invoice_no'), ('receipt_no', 'receipt_no')]) }} as documents,
        short_amount as difference,
        short_amount as amount_at_risk,
        received_at as event_at,
        expected_amount
    from combined
    where short_amount > 0
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'expected_amount') }}
        and {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    expected_amount
from candidates
    cross join {{ rule('remittance_short_pay') }} as r
