"""Master data of the simulated distributor: items, customers, partners, warehouses, carriers.

Master data is drawn from its own random stream (day 0 of ``STREAM_MASTER``) and sized only by
``orders_per_day``, so ``--days N`` and ``--days N+1`` share it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.config import SimulationConfig
from simulator.timing import STREAM_MASTER, rng_for, strs, upc_check_digit, zfill, zpad

CHANNELS = ("edi", "inside_sales", "shopify", "amazon")
CHANNEL_SHARE = (0.34, 0.26, 0.22, 0.18)
WAREHOUSES = ("DC-EAST", "DC-WEST", "3PL-CENTRAL")
THREE_PL = "3PL-CENTRAL"
CARRIERS = ("UPSN", "FDEG", "ODFL")
ZONES = np.arange(2, 9)
OUR_ISA_QUAL = "ZZ"
OUR_ISA_ID = "TRUEUPDIST"
GS1_PREFIX = "0845123"  # the distributor's own GS1 company prefix (SSCC and UPC)

# (code, name, isa qualifier, isa id, component separator, segment terminator, case code, GS08)
# Partners differ the way real ones do: separators, terminators, `CS` for case, VICS version.
EDI_PARTNERS: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    ("BIGBOX", "BIGBOX STORES INC", "01", "047123456", ">", "~\n", "CA", "004010VICS"),
    ("HOMEMART", "HOMEMART CORP", "ZZ", "HOMEMARTEDI", ":", "~", "CS", "004010"),
    ("VALUECO", "VALUE CO WHOLESALE", "08", "9254110060", ">", "~", "CA", "004010"),
    ("NORTHGATE", "NORTHGATE GROCERS", "ZZ", "NGATEPROD", ">", "~\n", "CS", "004010UCS"),
    ("PEAKSUPPLY", "PEAK SUPPLY LLC", "12", "5125550100", ":", "~\n", "CA", "004010"),
    ("COASTAL", "COASTAL RETAIL PARTNERS", "14", "0612345670001", ">", "~", "CA", "004010VICS"),
)
THREE_PL_PARTNER = (
    "CENTRAL3PL",
    "CENTRAL LOGISTICS 3PL",
    "ZZ",
    "CENTRAL3PL",
    ">",
    "~\n",
    "CA",
    "004010",
)

STATES = (
    ("NJ", "NEWARK", "07102"),
    ("PA", "ALLENTOWN", "18101"),
    ("OH", "COLUMBUS", "43215"),
    ("GA", "ATLANTA", "30303"),
    ("TX", "DALLAS", "75201"),
    ("IL", "CHICAGO", "60601"),
    ("CA", "ONTARIO", "91761"),
    ("WA", "KENT", "98032"),
    ("CO", "DENVER", "80202"),
    ("FL", "ORLANDO", "32801"),
    ("NY", "ALBANY", "12207"),
    ("AZ", "PHOENIX", "85004"),
)
WORDS = (
    "WIDGET",
    "BRACKET",
    "CLEANER",
    "TOWEL",
    "FILTER",
    "GLOVE",
    "LINER",
    "TAPE",
    "CUP",
    "NAPKIN",
    "BOLT",
    "HINGE",
    "LAMP",
    "CABLE",
    "SOAP",
    "BRUSH",
    "BOTTLE",
    "LID",
    "BAG",
    "PAD",
)
ADJ = ("HEAVY DUTY", "PREMIUM", "ECONOMY", "INDUSTRIAL", "COMPACT", "XL", "ECO", "PRO")

# Shopify Payments and Amazon referral fees: what `channel_fee_rates` says the channel charges.
FEE_RATES = {"shopify": (0.029, 30), "amazon": (0.15, 0)}  # (pct, fixed cents)


@dataclass
class MasterData:
    """All master tables as DataFrames plus the numpy lookups the generators need."""

    items: pd.DataFrame
    customers: pd.DataFrame
    ship_tos: pd.DataFrame
    contract_prices: pd.DataFrame
    carrier_rates: pd.DataFrame
    carriers: pd.DataFrame
    warehouses: pd.DataFrame
    item_uoms: pd.DataFrame
    channel_fee_rates: pd.DataFrame
    # lookups
    item_price_c: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # list price per EA, cents
    item_cost_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    item_case: np.ndarray = field(default_factory=lambda: np.zeros(0))
    item_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    item_lot: np.ndarray = field(default_factory=lambda: np.zeros(0))
    item_popularity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    contract_key: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cust_idx*n_items+item
    contract_price_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cust_by_channel: dict[str, np.ndarray] = field(default_factory=dict)
    cust_ship_to_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cust_ship_to_count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ship_to_zone: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cust_terms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cust_partner: np.ndarray = field(default_factory=lambda: np.zeros(0))  # partner idx or -1
    rate_base_c: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [carrier, zone]
    rate_per_lb_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rate_min_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fuel_pct: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_items(self) -> int:
        return len(self.items)

    def lot_no(self, item_idx: np.ndarray, wh_idx: np.ndarray) -> np.ndarray:
        """Lot of an item in a warehouse ('' when not lot controlled): one open lot per pair."""
        item_idx = np.asarray(item_idx)
        if len(item_idx) == 0:
            return np.array([], dtype=object)
        lots = strs("L", zpad(item_idx, 5), "-", np.asarray(wh_idx, dtype=np.int64))
        return np.where(self.item_lot[item_idx], lots, "")


# terms: code, discount pct, discount days, net days, pay window lo/hi days (when they pay)
TERMS = {
    "NET30": (0.0, 0, 30, 24, 30),
    "2/10 NET30": (0.02, 10, 30, 6, 10),
    "NET45": (0.0, 0, 45, 38, 45),
    "NET15": (0.0, 0, 15, 10, 15),
    "PREPAID": (0.0, 0, 0, 0, 0),
    "MARKETPLACE": (0.0, 0, 0, 0, 0),
}
TERMS_CODES = tuple(TERMS)


def build_master(config: SimulationConfig) -> MasterData:
    """Draw the master data of one company."""
    rng = rng_for(config.seed, 0, STREAM_MASTER)
    opd = config.orders_per_day
    n_items = int(np.clip(opd * 3, 300, 800))

    idx = np.arange(n_items)
    item_no = np.char.add("ITM", zfill((idx + 1).astype(str), 5))
    body = np.zeros((n_items, 11), dtype=np.int64)
    prefix = np.array([int(c) for c in "0845123"[1:]])  # 6-digit manufacturer prefix
    body[:, :6] = prefix
    ref = idx + 10000
    for k in range(5):
        body[:, 10 - k] = (ref // 10**k) % 10
    upc = np.array(
        ["".join(map(str, r)) + str(c) for r, c in zip(body, upc_check_digit(body), strict=True)]
    )
    cost_c = np.round(np.exp(rng.uniform(np.log(60), np.log(4000), n_items))).astype(np.int64)
    price_c = np.round(cost_c * rng.uniform(1.25, 1.6, n_items)).astype(np.int64)
    case_qty = rng.choice([6, 12, 24, 48], n_items)
    pallet_qty = case_qty * rng.choice([20, 40, 60], n_items)
    weight = np.round(rng.uniform(0.1, 4.0, n_items), 2)
    lot = rng.random(n_items) < 0.2
    abc = np.where(idx < n_items * 0.2, "A", np.where(idx < n_items * 0.5, "B", "C"))
    desc = [
        f"{ADJ[a]} {WORDS[w]} {s}"
        for a, w, s in zip(
            rng.integers(0, len(ADJ), n_items),
            rng.integers(0, len(WORDS), n_items),
            rng.integers(1, 100, n_items),
            strict=True,
        )
    ]
    popularity = 1.0 / (idx + 1) ** 0.8
    popularity /= popularity.sum()
    items = pd.DataFrame(
        {
            "item_no": item_no,
            "upc": upc,
            "description": desc,
            "base_uom": "EA",
            "case_qty": case_qty,
            "pallet_qty": pallet_qty,
            "weight_lb": weight,
            "standard_cost": cost_c / 100,
            "list_price": price_c / 100,
            "lot_controlled": lot,
            "abc_class": abc,
        }
    )
    item_uoms = (
        pd.concat(
            [
                pd.DataFrame({"item_no": item_no, "uom": "EA", "factor_to_base": 1}),
                pd.DataFrame({"item_no": item_no, "uom": "CA", "factor_to_base": case_qty}),
                pd.DataFrame({"item_no": item_no, "uom": "PL", "factor_to_base": pallet_qty}),
            ]
        )
        .sort_values(["item_no", "uom"], kind="stable")
        .reset_index(drop=True)
    )

    # customers: EDI partners first, then inside sales, shopify B2B accounts, one Amazon account
    n_inside = int(np.clip(opd // 3, 20, 800))
    n_shop = int(np.clip(opd // 3, 20, 800))
    rows = []
    for p in EDI_PARTNERS:
        rows.append(("edi", p[1], p[0], p[2], p[3]))
    rows += [
        ("inside_sales", f"{_name(rng)} SUPPLY {i}", None, None, None) for i in range(n_inside)
    ]
    rows += [("shopify", f"{_name(rng)} TRADING {i}", None, None, None) for i in range(n_shop)]
    rows.append(("amazon", "AMAZON.COM MARKETPLACE", None, None, None))
    n_cust = len(rows)
    channel = np.array([r[0] for r in rows])
    terms = np.empty(n_cust, dtype=object)
    terms[channel == "edi"] = rng.choice(["2/10 NET30", "NET30", "NET45"], (channel == "edi").sum())
    terms[channel == "inside_sales"] = rng.choice(
        ["NET30", "2/10 NET30", "NET15"], (channel == "inside_sales").sum()
    )
    terms[channel == "shopify"] = "PREPAID"
    terms[channel == "amazon"] = "MARKETPLACE"
    customer_no = np.char.add("C", zfill(np.arange(1, n_cust + 1).astype(str), 5))
    customers = pd.DataFrame(
        {
            "customer_no": customer_no,
            "name": [r[1] for r in rows],
            "channel": channel,
            "payment_terms": terms,
            "edi_partner_code": [r[2] for r in rows],
            "edi_isa_qualifier": [r[3] for r in rows],
            "edi_isa_id": [r[4] for r in rows],
            "credit_limit": np.where(channel == "edi", 500000.0, 50000.0),
        }
    )
    partner = np.full(n_cust, -1)
    partner[: len(EDI_PARTNERS)] = np.arange(len(EDI_PARTNERS))

    n_st = np.where(
        channel == "edi", 5, np.where(channel == "amazon", 1, rng.integers(1, 4, n_cust))
    )
    st_start = np.concatenate([[0], np.cumsum(n_st)[:-1]])
    st_cust = np.repeat(np.arange(n_cust), n_st)
    st_seq = np.arange(len(st_cust)) - st_start[st_cust] + 1
    loc = rng.integers(0, len(STATES), len(st_cust))
    zone = rng.integers(2, 9, len(st_cust))
    ship_tos = pd.DataFrame(
        {
            "ship_to_id": [
                f"{customer_no[c]}-{s:02d}" for c, s in zip(st_cust, st_seq, strict=True)
            ],
            "customer_no": customer_no[st_cust],
            "name": [f"{rows[c][1][:24]} #{s}" for c, s in zip(st_cust, st_seq, strict=True)],
            "address1": [f"{100 + 7 * i} COMMERCE DR" for i in range(len(st_cust))],
            "city": [STATES[i][1] for i in loc],
            "state": [STATES[i][0] for i in loc],
            "postal_code": [STATES[i][2] for i in loc],
            "country": "US",
            "gln": [f"0614141{i:05d}" + "0" for i in range(len(st_cust))],
            "zone": zone,
        }
    )

    # contract prices: ~30 items for each EDI and inside-sales customer, 5-15% under list
    contract_cust = np.flatnonzero((channel == "edi") | (channel == "inside_sales"))
    cc, ci = [], []
    for c in contract_cust:
        its = np.sort(rng.choice(n_items, min(30, n_items), replace=False))
        cc.append(np.full(len(its), c))
        ci.append(its)
    cc_a, ci_a = np.concatenate(cc), np.concatenate(ci)
    cprice = np.round(price_c[ci_a] * rng.uniform(0.85, 0.95, len(ci_a))).astype(np.int64)
    key = cc_a * n_items + ci_a
    order = np.argsort(key, kind="stable")
    contract_prices = pd.DataFrame(
        {
            "customer_no": customer_no[cc_a],
            "item_no": item_no[ci_a],
            "uom": "EA",
            "unit_price": cprice / 100,
            "effective_from": config.start.isoformat(),
        }
    )

    carriers = pd.DataFrame(
        {
            "scac": list(CARRIERS),
            "name": ["UPS", "FEDEX GROUND", "OLD DOMINION FREIGHT LINE"],
            "mode": ["parcel", "parcel", "ltl"],
            "account_no": ["A1B2C3", "610012345", "TRU0099"],
            "fuel_surcharge_pct": [0.145, 0.14, 0.28],
        }
    )
    zf = (ZONES - 1).astype(float)
    base = np.vstack([850 + 90 * zf, 820 + 95 * zf, 9000 + 1200 * zf]).round().astype(np.int64)
    per_lb = np.vstack([35 + 9 * zf, 34 + 9.5 * zf, 11 + 2 * zf]).round().astype(np.int64)
    minimum = np.vstack([np.full(7, 900), np.full(7, 900), np.full(7, 15000)])
    carrier_rates = pd.DataFrame(
        {
            "scac": np.repeat(CARRIERS, 7),
            "zone": np.tile(ZONES, 3),
            "base_charge": base.ravel() / 100,
            "per_lb": per_lb.ravel() / 100,
            "min_charge": minimum.ravel() / 100,
        }
    )
    warehouses = pd.DataFrame(
        {
            "warehouse_code": list(WAREHOUSES),
            "name": [
                "EAST DISTRIBUTION CENTER",
                "WEST DISTRIBUTION CENTER",
                "CENTRAL LOGISTICS 3PL",
            ],
            "operator": ["company", "company", "3pl"],
            "system": ["WMS", "WMS", "X12"],
            "city": ["CARTERET", "ONTARIO", "INDIANAPOLIS"],
            "state": ["NJ", "CA", "IN"],
        }
    )
    channel_fee_rates = pd.DataFrame(
        {
            "channel": list(FEE_RATES),
            "fee_pct": [v[0] for v in FEE_RATES.values()],
            "fee_fixed": [v[1] / 100 for v in FEE_RATES.values()],
            "basis": [
                "per order: round(pct*total + fixed, 2)",
                "per order item: round(pct*principal, 2)",
            ],
        }
    )

    return MasterData(
        items=items,
        customers=customers,
        ship_tos=ship_tos.drop(columns=[]),
        contract_prices=contract_prices,
        carrier_rates=carrier_rates,
        carriers=carriers,
        warehouses=warehouses,
        item_uoms=item_uoms,
        channel_fee_rates=channel_fee_rates,
        item_price_c=price_c,
        item_cost_c=cost_c,
        item_case=case_qty,
        item_weight=weight,
        item_lot=lot,
        item_popularity=popularity,
        contract_key=key[order],
        contract_price_c=cprice[order],
        cust_by_channel={c: np.flatnonzero(channel == c) for c in CHANNELS},
        cust_ship_to_start=st_start,
        cust_ship_to_count=n_st,
        ship_to_zone=zone,
        cust_terms=terms,
        cust_partner=partner,
        rate_base_c=base,
        rate_per_lb_c=per_lb,
        rate_min_c=minimum,
        fuel_pct=carriers["fuel_surcharge_pct"].to_numpy(),
    )


def _name(rng: np.random.Generator) -> str:
    first = (
        "ACME",
        "SUMMIT",
        "RIVER",
        "OAK",
        "METRO",
        "PIONEER",
        "BLUE",
        "GRANITE",
        "LIBERTY",
        "CEDAR",
        "HARBOR",
        "PRAIRIE",
        "ATLAS",
        "EAGLE",
        "UNION",
    )
    return first[int(rng.integers(0, len(first)))]


def unit_price_c(master: MasterData, cust_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """Per-EA price in cents: the customer's contract price if any, else list price."""
    key = cust_idx.astype(np.int64) * master.n_items + item_idx
    pos = np.searchsorted(master.contract_key, key)
    pos_c = np.minimum(pos, len(master.contract_key) - 1)
    hit = master.contract_key[pos_c] == key
    return np.where(hit, master.contract_price_c[pos_c], master.item_price_c[item_idx])
