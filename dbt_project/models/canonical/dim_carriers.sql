select scac, name as carrier_name, mode, account_no, fuel_surcharge_pct
from {{ ref('stg_erp__carriers') }}
