{#- Cash as the ERP applied it: receipt (with its remittance trace / check reference) x invoice,
    with the invoice's total, discount, short pay and what remains unapplied on the receipt. -#}
select
    a.receipt_no,
    a.invoice_no,
    r.reference as trace_no,
    r.customer_no,
    r.method,
    r.received_at,
    r.posted_at,
    a.applied_at,
    a.amount_applied,
    a.discount_taken,
    a.short_paid_amount,
    a.adjustment_reason,
    i.total_amount as invoice_total,
    i.so_no
from {{ ref('stg_erp__cash_applications') }} as a
    inner join {{ ref('stg_erp__cash_receipts') }} as r on r.receipt_no = a.receipt_no
    left join {{ ref('stg_erp__invoices') }} as i on i.invoice_no = a.invoice_no
