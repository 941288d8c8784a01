{#- Freight per shipment: what the ERP accrued at ship confirm vs what the carrier billed. -#}
with accruals as (
    select shipment_id, min(accrual_no) as accrual_no, min(carrier_scac) as carrier_scac,
           min(tracking_no) as tracking_no, min(accrued_at) as accrued_at, sum(amount) as accrued_amount
    from {{ ref('stg_erp__freight_accruals') }}
    group by shipment_id
),

bills as (
    select shipment_id, min(freight_invoice_no) as freight_invoice_no, min(invoice_date) as invoice_date,
           min(tracking_no) as tracking_no, max(accessorial_code) as accessorial_code,
           sum(accessorial_charge) as accessorial_charge, sum(net_charge) as billed_amount,
           count(*) as bill_lines
    from {{ ref('stg_carrier__freight_bill_lines') }}
    group by shipment_id
)

select
    coalesce(a.shipment_id, b.shipment_id) as shipment_id,
    s.correlation_id as first_correlation_id,
    s.so_no,
    a.accrual_no,
    coalesce(a.carrier_scac, s.carrier_scac) as carrier_scac,
    coalesce(a.tracking_no, b.tracking_no) as tracking_no,
    a.accrued_at,
    a.accrued_amount,
    b.freight_invoice_no,
    cast(b.invoice_date as {{ dbt.type_timestamp() }}) as billed_at,
    b.billed_amount,
    b.accessorial_code,
    b.accessorial_charge,
    b.bill_lines,
    b.billed_amount - a.accrued_amount as bill_minus_accrual
from accruals as a
    full outer join bills as b on b.shipment_id = a.shipment_id
    left join (
        select shipment_id, min(correlation_id) as correlation_id, min(so_no) as so_no,
               cast(null as {{ dbt.type_string() }}) as carrier_scac
        from {{ ref('fct_shipment_lines') }}
        group by shipment_id
    ) as s on s.shipment_id = coalesce(a.shipment_id, b.shipment_id)
