{#- Remittance advice (820) lines: one row per invoice a payment covers (RMR), one copy per
    trace number x invoice even when the interchange was retransmitted. -#}
{%- set str = dbt.type_string() -%}
with remits as (
    select * from {{ source_or_empty('edi', 'x12_820_remittances', {
        'trace_number': str, 'remit_index': dbt.type_bigint(), 'ref_qualifier': str, 'ref_number': str,
        'paid_amount': 'decimal(18, 4)', 'invoice_amount': 'decimal(18, 4)', 'discount_amount': 'decimal(18, 4)',
        'adjustment_amount': 'decimal(18, 4)', 'isa_sender_id': str, 'isa_control_number': str,
        'gs_control_number': str, 'st_control_number': str}) }} as x
),

payments as (
    select * from {{ source_or_empty('edi', 'x12_820_payments', {
        'trace_number': str, 'total_amount': 'decimal(18, 4)', 'payment_date': 'date', 'payment_method': str,
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str}) }} as x
),

pay_one as (
    select trace_number, max(payment_date) as payment_date, max(total_amount) as total_amount,
           max(payment_method) as payment_method
    from payments
    group by trace_number
),

ranked as (
    select r.*, row_number() over (
        partition by r.trace_number, r.ref_number order by r.isa_control_number, r.st_control_number) as _rn
    from remits as r
)

select
    cast(r.trace_number as {{ str }}) as trace_no,
    cast(r.ref_number as {{ str }}) as invoice_no,
    cast(r.isa_sender_id as {{ str }}) as partner_isa_id,
    cast(r.paid_amount as decimal(18, 2)) as paid_amount,
    cast(r.invoice_amount as decimal(18, 2)) as invoice_amount,
    cast(coalesce(r.discount_amount, 0) as decimal(18, 2)) as discount_amount,
    cast(coalesce(r.adjustment_amount, 0) as decimal(18, 2)) as adjustment_amount,
    cast(p.payment_date as {{ dbt.type_timestamp() }}) as paid_at,
    cast(p.total_amount as decimal(18, 2)) as payment_total,
    p.payment_method
from ranked as r
    left join pay_one as p on p.trace_number = r.trace_number
where r._rn = 1 and (r.ref_qualifier is null or r.ref_qualifier = 'IV')
