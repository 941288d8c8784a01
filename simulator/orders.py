"""Order entry per channel: orders, order lines, and the whole planned life of each order.

Every draw for a day comes from that day's own streams, so a day's orders (and their planned
shipments, invoices, payments and returns) are the same whatever the simulation length; only
``as_of`` decides how much of that life the systems have written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.config import SimulationConfig
from simulator.discrepancies import DEFECT, RETURN_DEFECTS, VARIANT, choose_defects, choose_variants
from simulator.master_data import (
    CHANNEL_SHARE,
    CHANNELS,
    TERMS,
    WAREHOUSES,
    MasterData,
    unit_price_c,
)
from simulator.timing import (
    DAY,
    HOUR,
    STREAM_DEFECTS,
    STREAM_LIFECYCLE,
    STREAM_ORDERS,
    epoch,
    rng_for,
)


@dataclass
class OrderBlock:
    """Orders (one row per order) and lines (one row per order line) of a block of days."""

    orders: pd.DataFrame
    lines: pd.DataFrame


def _u(rng: np.random.Generator, lo_h: float, hi_h: float, n: int) -> np.ndarray:
    """Uniform lag in whole seconds between lo_h and hi_h hours."""
    return np.round(rng.uniform(lo_h * HOUR, hi_h * HOUR, n)).astype(np.int64)


def generate_day(config: SimulationConfig, master: MasterData, day: int) -> OrderBlock:
    """Draw one day's orders, lines, defects, variants and planned event times."""
    rng = rng_for(config.seed, day, STREAM_ORDERS)
    day0 = epoch(config.start) + day * DAY
    n = int(rng.poisson(config.orders_per_day))
    ch = rng.choice(len(CHANNELS), n, p=CHANNEL_SHARE)
    channel = np.array(CHANNELS, dtype=object)[ch]
    cust = np.zeros(n, dtype=np.int64)
    for c, name in enumerate(CHANNELS):
        m = ch == c
        pool = master.cust_by_channel[name]
        cust[m] = pool[rng.integers(0, len(pool), m.sum())]
    t0 = day0 + np.sort(rng.integers(0, DAY, n))
    ship_to = (
        master.cust_ship_to_start[cust]
        + rng.integers(0, 10**6, n) % master.cust_ship_to_count[cust]
    )
    n_lines = 1 + np.minimum(rng.poisson(2.5, n), 19)
    b2b = (channel == "edi") | (channel == "inside_sales")
    wh = np.where(b2b & (rng.random(n) < 0.15), 2, rng.integers(0, 2, n))

    # lines
    o_of_line = np.repeat(np.arange(n), n_lines)
    starts = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    line_no = np.arange(len(o_of_line)) - starts[o_of_line] + 1
    nl = len(o_of_line)
    item = rng.choice(master.n_items, nl, p=master.item_popularity)
    lch = channel[o_of_line]
    is_ca = (lch == "edi") | ((lch == "inside_sales") & (rng.random(nl) < 0.6))
    factor = np.where(is_ca, master.item_case[item], 1)
    qty = np.where(
        is_ca,
        rng.integers(1, 21, nl),
        np.where(
            lch == "amazon",
            rng.integers(1, 4, nl),
            np.where(lch == "shopify", rng.integers(1, 49, nl), rng.integers(1, 61, nl)),
        ),
    )
    price_ea = unit_price_c(master, cust[o_of_line], item)
    price = price_ea * factor
    lines = pd.DataFrame(
        {
            "o": o_of_line,
            "line_no": line_no,
            "item": item,
            "uom": np.where(is_ca, "CA", "EA"),
            "factor": factor,
            "qty": qty,
            "qty_base": qty * factor,
            "price_ea_c": price_ea,
            "price_c": price,
            "ext_c": qty * price,
        }
    )
    weight = np.bincount(o_of_line, weights=qty * factor * master.item_weight[item], minlength=n)
    value_c = np.bincount(o_of_line, weights=qty * price, minlength=n).astype(np.int64)
    carrier = np.where(weight > 150, 2, rng.integers(0, 2, n))

    # defects and benign variants
    rd = rng_for(config.seed, day, STREAM_DEFECTS)
    defect = choose_defects(rd, channel, n_lines, config.discrepancy_rate)
    variant = choose_variants(rd, channel, defect)
    ret_defect = np.isin(defect, [DEFECT[d] for d in RETURN_DEFECTS])
    single_ship = ~np.isin(
        variant, [VARIANT["split"], VARIANT["split_consolidated"], VARIANT["backorder"]]
    )
    plain = (defect < 0) & (variant == 0)
    has_return = (
        ret_defect | (variant == VARIANT["credit_within_tol"]) | (plain & (rd.random(n) < 0.03))
    )
    return_line = rd.integers(0, 10**6, n) % n_lines + 1
    # split/backorder: the first line with at least 2 units in its UoM is split (else none)
    q_first2 = pd.Series(np.where(qty >= 2, line_no, 10**6)).groupby(o_of_line).min().to_numpy()
    split_line = np.where(single_ship, 0, np.where(q_first2 < 10**6, q_first2, 0))
    variant = np.where(~single_ship & (split_line == 0), 0, variant)
    split_frac = rd.uniform(0.3, 0.7, n)
    inv_ns_line = np.where(defect == DEFECT["invoiced_not_shipped"], n_lines, 0)
    mutate_line = rd.integers(0, 10**6, n) % n_lines + 1  # line a defect/variant acts on

    # planned event times
    rl = rng_for(config.seed, day, STREAM_LIFECYCLE)
    entry_lag = np.where(
        channel == "inside_sales",
        0,
        np.where(channel == "edi", _u(rl, 0.1, 2, n), _u(rl, 0.2, 4, n)),
    )
    entered = t0 + entry_lag
    released = entered + _u(rl, 0, 4, n)
    picked = released + _u(rl, 4, 30, n)
    shipped1 = picked + _u(rl, 2, 24, n)
    is_bo = variant == VARIANT["backorder"]
    shipped2 = shipped1 + np.where(is_bo, _u(rl, 72, 240, n), _u(rl, 0.1, 6, n))
    posted1 = shipped1 + _u(rl, 0.5, 8, n)
    posted2 = shipped2 + _u(rl, 0.5, 8, n)
    invoiced1 = posted1 + _u(rl, 0, 12, n)
    invoiced2 = posted2 + _u(rl, 0, 12, n)
    consolidated = variant == VARIANT["split_consolidated"]
    invoiced1 = np.where(consolidated, np.maximum(invoiced1, invoiced2), invoiced1)
    invoiced2 = np.where(consolidated, invoiced1, invoiced2)
    pickup1 = shipped1 + _u(rl, 0, 6, n)
    delivered1 = pickup1 + _u(rl, 24, 120, n)
    pickup2 = shipped2 + _u(rl, 0, 6, n)
    delivered2 = pickup2 + _u(rl, 24, 120, n)
    terms = master.cust_terms[cust]
    lo = np.array([TERMS[t][3] for t in terms], dtype=float)
    hi = np.array([TERMS[t][4] for t in terms], dtype=float)
    hi = np.where(hi == 10, 9.5, hi)  # pay safely inside the discount window
    paid_at = invoiced1 + np.round(rl.uniform(lo, np.maximum(hi, lo)) * DAY).astype(np.int64)
    rma_at = delivered1 + _u(rl, 72, 600, n)
    rreceipt_at = rma_at + _u(rl, 72, 240, n)
    credit_at = rreceipt_at + _u(rl, 0, 60, n)
    dup_at = _u(rl, 1, 48, n)  # lag of a duplicate document after the original
    extra = rl.random(n)  # a free uniform for defect sizes

    orders = pd.DataFrame(
        {
            "day": day,
            "channel": channel,
            "cust": cust,
            "ship_to": ship_to,
            "n_lines": n_lines,
            "wh": wh,
            "carrier": carrier,
            "weight_lb": np.round(weight, 1),
            "value_c": value_c,
            "defect": defect,
            "variant": variant,
            "has_return": has_return,
            "return_line": return_line,
            "split_line": split_line,
            "split_frac": split_frac,
            "inv_ns_line": inv_ns_line,
            "mutate_line": mutate_line,
            "t0": t0,
            "entered": entered,
            "released": released,
            "picked": picked,
            "shipped1": shipped1,
            "shipped2": shipped2,
            "posted1": posted1,
            "posted2": posted2,
            "invoiced1": invoiced1,
            "invoiced2": invoiced2,
            "pickup1": pickup1,
            "pickup2": pickup2,
            "delivered1": delivered1,
            "delivered2": delivered2,
            "paid_at": paid_at,
            "rma_at": rma_at,
            "rreceipt_at": rreceipt_at,
            "credit_at": credit_at,
            "dup_lag": dup_at,
            "extra": extra,
            "ack_at": entered + _u(rl, 0.1, 2, n),
            "rl_seed": rl.integers(0, 2**31, n),
        }
    )
    return OrderBlock(orders, lines)


def generate_block(config: SimulationConfig, master: MasterData, days: range) -> OrderBlock:
    """Concatenate the days of one block (line ``o`` re-pointed to block order positions)."""
    parts = [generate_day(config, master, d) for d in days]
    off = 0
    lines = []
    for p in parts:
        ln = p.lines.copy()
        ln["o"] += off
        off += len(p.orders)
        lines.append(ln)
    orders = pd.concat([p.orders for p in parts], ignore_index=True)
    return OrderBlock(orders, pd.concat(lines, ignore_index=True))


WAREHOUSE_CODES = np.array(WAREHOUSES, dtype=object)
