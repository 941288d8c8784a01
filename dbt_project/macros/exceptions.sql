{#- The reconciliation marts the exception queue unions: one per exception type of the rules
    seed (tests/assert_every_rule_has_a_mart.sql keeps this list and the seed in step). -#}
{% macro rec_models() -%}
    {{ return([
        'rec_shipped_not_invoiced', 'rec_invoiced_not_shipped', 'rec_invoice_qty_variance',
        'rec_invoice_price_variance', 'rec_duplicate_invoice', 'rec_duplicate_shipment_confirmation',
        'rec_wms_shipment_not_posted', 'rec_return_credited_not_received',
        'rec_return_received_not_credited', 'rec_credit_amount_mismatch', 'rec_rma_open_past_window',
        'rec_unapplied_cash', 'rec_remittance_short_pay', 'rec_inventory_variance',
        'rec_freight_bill_over_accrual', 'rec_marketplace_settlement_mismatch', 'rec_asn_mismatch',
        'rec_edi_invoice_mismatch', 'rec_rejected_997', 'rec_channel_order_missing_in_erp',
    ]) }}
{%- endmacro %}

{#- Incremental strategy for the persistent queue: MERGE where the adapter has it, else
    delete+insert (both keep one row per exception_id). -#}
{% macro queue_strategy() -%}
    {{ return('merge' if target.type in ('duckdb', 'postgres', 'spark', 'databricks', 'snowflake', 'bigquery') else 'delete+insert') }}
{%- endmacro %}
