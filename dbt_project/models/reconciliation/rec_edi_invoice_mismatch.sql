{#- The 810 we transmitted vs the ERP invoice it copies: TDS total vs ERP total. -#}
with candidates as (
    select
        e.invoice_no as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('invoice_no', 'e.invoice_no'), ('so_no', 'i.so_no'), ('isa_control_number', 'e.isa_control_number')]) }} as documents,
        e.tds_total - i.total_amount as difference,
        abs(e.tds_total - i.total_amount) as amount_at_risk,
        e.invoiced_at as event_at,
        e.tds_total,
        i.total_amount as erp_total
    from {{ ref('stg_edi__810_invoices') }} as e
        inner join {{ ref('stg_erp__invoices') }} as i on i.invoice_no = e.invoice_no
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'erp_total') }}
        and {{ hours_between('event_at', as_of()) }} >= r.sla_hours as is_exception,
    tds_total,
    erp_total
from candidates
    cross join {{ rule('edi_invoice_mismatch') }} as r
-- a pair that agrees exactly is a match, not a candidate (no tolerance can flag it)
where difference <> 0
