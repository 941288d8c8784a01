{#- Marketplace settlement vs fee schedule and ERP order: |fee - expected fee| + |gross - ERP
    order amount| beyond tolerance, once the order is invoiced in the ERP. -#}
with candidates as (
    select
        marketplace_key as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('channel', 'channel'), ('marketplace_order_id', 'marketplace_order_id'),
                        ('settlement_id', 'settlement_id'), ('so_no', 'so_no')]) }} as documents,
        mismatch_amount as difference,
        mismatch_amount as amount_at_risk,
        case when first_invoiced_at > settled_at then first_invoiced_at else settled_at end as event_at,
        gross_amount,
        fee_amount,
        expected_fee_amount,
        expected_gross_amount
    from {{ ref('fct_marketplace_settlements') }}
    where so_no is not null and invoice_count > 0 and first_invoiced_at <= {{ as_of() }}
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'gross_amount') }}
        and {{ hours_between('event_at', as_of()) }} >= r.sla_hours as is_exception,
    gross_amount,
    fee_amount,
    expected_fee_amount,
    expected_gross_amount
from candidates
    cross join {{ rule('marketplace_settlement_mismatch') }} as r
-- a pair that agrees exactly is a match, not a candidate (no tolerance can flag it)
where difference <> 0
