{#- Carrier freight bill lines: one charge per shipment (the bill's reference is our
    shipment id), one copy per bill x tracking number even if a bill file is re-delivered. -#}
{%- set str = dbt.type_string() -%}
with bills as (
    select * from {{ source_or_empty('carrier', 'freight_bill_lines', {
        'invoice_no': str, 'invoice_date': 'date', 'account_no': str, 'tracking_no': str, 'pro_no': str,
        'ship_date': 'date', 'service': str, 'zone': dbt.type_bigint(), 'billed_weight_lb': 'decimal(18, 1)',
        'base_charge': 'decimal(18, 2)', 'fuel_surcharge': 'decimal(18, 2)', 'accessorial_code': str,
        'accessorial_charge': 'decimal(18, 2)', 'net_charge': 'decimal(18, 2)', 'reference': str, 'bol_no': str,
        'source_file': str, 'source_line': dbt.type_bigint()}) }} as x
),

ranked as (
    select b.*, row_number() over (
        partition by b.invoice_no, b.tracking_no order by b.source_file, b.source_line) as _rn
    from bills as b
)

select
    cast(invoice_no as {{ str }}) as freight_invoice_no,
    cast(invoice_date as date) as invoice_date,
    cast(account_no as {{ str }}) as account_no,
    cast(tracking_no as {{ str }}) as tracking_no,
    nullif(cast(pro_no as {{ str }}), '') as pro_no,
    cast(ship_date as date) as ship_date,
    cast(service as {{ str }}) as service,
    cast(zone as {{ dbt.type_bigint() }}) as zone,
    cast(billed_weight_lb as decimal(18, 1)) as billed_weight_lb,
    cast(base_charge as decimal(18, 2)) as base_charge,
    cast(fuel_surcharge as decimal(18, 2)) as fuel_surcharge,
    nullif(cast(accessorial_code as {{ str }}), '') as accessorial_code,
    cast(coalesce(accessorial_charge, 0) as decimal(18, 2)) as accessorial_charge,
    cast(net_charge as decimal(18, 2)) as net_charge,
    cast(reference as {{ str }}) as shipment_id,
    cast(bol_no as {{ str }}) as bol_no
from ranked
where _rn = 1
