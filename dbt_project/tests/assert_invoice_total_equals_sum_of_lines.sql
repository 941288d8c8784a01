{#- Invariant: every ERP invoice's total is the sum of its lines (freight and tax are separate
    header amounts, zero or not). Shown in Dagster as a check of the invoice headers. -#}
{{ config(meta={'dagster': {'ref': {'name': 'stg_erp__invoices'}}}) }}
select i.invoice_no, i.total_amount, i.freight_amount, i.tax_amount, sum(l.extended_amount) as lines_total
from {{ ref('stg_erp__invoices') }} as i
    inner join {{ ref('stg_erp__invoice_lines') }} as l on l.invoice_no = i.invoice_no
group by i.invoice_no, i.total_amount, i.freight_amount, i.tax_amount
having abs(i.total_amount - coalesce(i.freight_amount, 0) - coalesce(i.tax_amount, 0) - sum(l.extended_amount)) > 0.005
