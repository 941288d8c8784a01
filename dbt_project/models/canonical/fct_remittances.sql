{#- Customer remittances (820) per invoice, with the ERP cash receipt that booked the money
    (matched on the trace number the receipt carries as its reference). -#}
select
    r.trace_no,
    r.invoice_no,
    r.partner_isa_id,
    r.paid_amount,
    r.invoice_amount,
    r.discount_amount,
    r.adjustment_amount,
    r.paid_at,
    r.payment_total,
    c.receipt_no,
    c.posted_at as receipt_posted_at,
    i.so_no
from {{ ref('stg_edi__820_remittances') }} as r
    left join {{ ref('stg_erp__cash_receipts') }} as c on c.reference = r.trace_no
    left join {{ ref('stg_erp__invoices') }} as i on i.invoice_no = r.invoice_no
