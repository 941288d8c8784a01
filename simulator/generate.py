"""Orchestrates a simulation: master data, then blocks of days, then inventory, truth, manifest.

Blocks bound memory: each block's orders are generated, turned into documents and written, then
dropped. Only small accumulators (inventory per day × item, Amazon lines of open settlement
periods, ground truth) outlive a block.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import resource
import shutil
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from simulator.billing import build_billing, set_settlement_origin
from simulator.config import SimulationConfig
from simulator.discrepancies import DEFECT_NAMES, NEAR_MISS_KINDS, TruthLog, load_rules
from simulator.fulfilment import Counters, build_fulfilment
from simulator.inventory import InventoryBook
from simulator.master_data import build_master
from simulator.orders import generate_block
from simulator.returns import build_returns
from simulator.timing import DAY, epoch, iso1, prepare_tables
from simulator.writers import erp as erp_writer
from simulator.writers import shopify as shopify_writer
from simulator.writers import wms as wms_writer
from simulator.writers.amazon import AmazonWriter
from simulator.writers.carrier import CarrierWriter
from simulator.writers.edi import EdiWriter
from simulator.writers.sqlstore import SqliteStore

GENERATOR_VERSION = "1.0"
OUTPUT_PARTS = (
    "manifest.json",
    "timings.json",
    "ground_truth",
    "erp",
    "wms",
    "shopify",
    "carrier",
    "edi",
    "amazon",
)
# Order lines per block: bigger blocks mean fewer forks and per-block passes (~3% less CPU at
# 10M lines than 120k), at ~0.2 GiB more peak memory.
LINES_PER_BLOCK = 240_000
WRITER_NICENESS = 10


def _stores_work(f: object, b: object, r: object, ctx: dict) -> dict:
    """WMS and Shopify rows of one block, appended to their (closed) SQLite stores."""
    stores, master, as_of = ctx["stores"], ctx["master"], ctx["as_of"]
    t = time.perf_counter()
    wms = SqliteStore(stores["wms"], [], fresh=False)
    wms_writer.write_block(wms, f, r, as_of)
    shop = SqliteStore(stores["shopify"], [], fresh=False)
    shopify_writer.write_block(shop, f, b, r, master, as_of)
    counts = {"wms": wms.close(), "shopify": shop.close()}
    return {"stores": counts, "timings": {"wms_shopify": time.perf_counter() - t}}


def _carrier_work(block_no: int, f: object, carrier: CarrierWriter) -> dict:
    """Carrier tracking and freight-bill files of one block; returns their counts and truth."""
    local = TruthLog()
    t = time.perf_counter()
    carrier.write_block(block_no, f, local)
    return {
        "truth": (local.discrepancies, local.near_misses),
        "carrier": carrier.counts,
        "stores": {},
        "timings": {"carrier": time.perf_counter() - t},
    }


def _edi_work(block_no: int, f: object, b: object, r: object, edi: EdiWriter) -> dict:
    """EDI files of one block; returns the writer's state (control numbers) and the truth."""
    local = TruthLog()
    edi.truth = local
    t = time.perf_counter()
    docs = edi.block_docs(f, b, r)
    t_docs = time.perf_counter() - t
    t = time.perf_counter()
    edi.write(docs, block_no)
    t_write = time.perf_counter() - t
    return {
        "truth": (local.discrepancies, local.near_misses),
        "edi": edi.get_state(),
        "stores": {},
        "timings": {"edi_docs": t_docs, "edi_write": t_write},
    }


def _erp_work(path: Path, f: object, b: object, r: object, as_of: int) -> dict:
    """The ERP rows of one block, appended to the (closed) SQLite ERP file."""
    t = time.perf_counter()
    erp = SqliteStore(path, [], fresh=False)
    erp_writer.write_block(erp, f, b, r, as_of)
    counts = erp.close()
    return {"stores": {"erp": counts}, "timings": {"erp": time.perf_counter() - t}}


class _Child:
    """One piece of a block's output, in a forked child when the OS can fork.

    A fork shares the block's frames without copying them; the child sends back only counts,
    writer state and ground truth. Children writing the same files run one after another.
    """

    def __init__(self, pid: int | None, fd: int | None, result: dict | None) -> None:
        self.pid, self.fd, self.result = pid, fd, result

    @classmethod
    def start(cls, work: Callable[..., dict], *args: object) -> _Child:
        if not hasattr(os, "fork") or os.environ.get("TRUEUP_SIM_NO_FORK"):
            return cls(None, None, work(*args))
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: do the work, send the result, leave without cleanup
            # no garbage collection in a short-lived child: a collection walks (and so writes,
            # copying on write) every page of the parent's objects
            gc.disable()
            # the generating process heads the pipeline: with both cores busy, writers that
            # take its CPU only make themselves wait for the next block (10M lines: -10% wall)
            os.nice(WRITER_NICENESS)
            os.close(rfd)
            try:
                res = work(*args)
                ru = resource.getrusage(resource.RUSAGE_SELF)  # this child's CPU, for timings
                res["timings"][f"cpu.{work.__name__.strip('_')}"] = ru.ru_utime + ru.ru_stime
                payload = pickle.dumps(("ok", res))
            except BaseException:
                payload = pickle.dumps(("error", traceback.format_exc()))
            with os.fdopen(wfd, "wb") as fh:
                fh.write(payload)
            os._exit(0)
        os.close(wfd)
        return cls(pid, rfd, None)

    def join(self, timings: dict[str, float], store_counts: dict[str, dict[str, int]]) -> dict:
        """Wait for the work, add its timings and row counts; return its result."""
        if self.result is None:
            with os.fdopen(self.fd, "rb") as fh:
                data = fh.read()
            os.waitpid(self.pid, 0)
            status, res = pickle.loads(data) if data else ("error", "writer process died")
            if status != "ok":
                raise RuntimeError(f"block writer failed:\n{res}")
            self.result = res
        res = self.result
        for store, counts in res["stores"].items():
            for table, n in counts.items():
                store_counts[store][table] = store_counts[store].get(table, 0) + n
        for k, v in res["timings"].items():
            timings[k] = timings.get(k, 0.0) + v
        return res


def _join(
    children: dict[str, _Child],
    name: str,
    timings: dict[str, float],
    store_counts: dict[str, dict[str, int]],
    truth: TruthLog,
    carrier: CarrierWriter,
    edi: EdiWriter,
) -> None:
    """Wait for one chain's previous writer; carry the file writers' state and truth over."""
    child = children.pop(name, None)
    if child is None:
        return
    res = child.join(timings, store_counts)
    if "truth" in res:
        truth.discrepancies.extend(res["truth"][0])
        truth.near_misses.extend(res["truth"][1])
    if "carrier" in res:
        carrier.counts = res["carrier"]
    if "edi" in res:
        edi.set_state(res["edi"])
        edi.truth = truth


def _merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


def block_days(config: SimulationConfig) -> int:
    """Days per block: ~240k order lines, a function of orders/day only (never of --days)."""
    return max(1, min(28, LINES_PER_BLOCK // max(1, int(config.orders_per_day * 3.5))))


def simulate(
    config: SimulationConfig, out_dir: Path, progress: Callable[[str], None] | None = None
) -> dict:
    """Write a whole simulated company under ``out_dir``; return the manifest."""
    # Object-dtype strings: pandas 3's Arrow-backed default makes per-row access 3-10x slower
    # in the document builders, and nothing here needs Arrow strings.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infer_string.*")
        with pd.option_context("future.infer_string", False):
            return _simulate(config, Path(out_dir), progress)


def _simulate(
    config: SimulationConfig, out_dir: Path, progress: Callable[[str], None] | None
) -> dict:
    t_start = time.perf_counter()
    say = progress or (lambda _m: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in OUTPUT_PARTS:
        p = out_dir / part
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    as_of = int(config.as_of.timestamp())
    start = epoch(config.start)
    set_settlement_origin(start)
    load_rules()  # fail early when the rules seed is missing
    master = build_master(config)
    truth = TruthLog()
    counters = Counters(start)
    erp = erp_writer.open_erp(out_dir, config.erp_url)
    erp_writer.write_master(erp, master, iso1(start - DAY))
    wms = wms_writer.open_wms(out_dir)
    shop = shopify_writer.open_shopify(out_dir)
    ctx = {"stores": {"wms": wms.path, "shopify": shop.path}, "master": master, "as_of": as_of}
    store_counts: dict[str, dict[str, int]] = {"wms": wms.close(), "shopify": shop.close()}
    # a SQLite ERP is closed between blocks and written by a forked child per block, like the
    # WMS and Shopify stores: no SQLite thread competes with generation for this process's GIL
    erp_path = erp.path if isinstance(erp, SqliteStore) else None
    store_counts["erp"] = erp.close() if erp_path else {}
    carrier = CarrierWriter(out_dir, start, as_of, master)
    amazon = AmazonWriter(out_dir, start, as_of)
    edi = EdiWriter(out_dir, as_of, master)
    edi.truth = truth
    inv_book = InventoryBook(config, master, as_of)
    summary = {"orders": 0, "order_lines": 0, "shipments": 0, "invoices": 0}
    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable, *args: object) -> object:
        t = time.perf_counter()
        res = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
        return res

    prepare_tables()
    bd = block_days(config)
    # per block, four chains of forked writers: ERP, WMS + Shopify, EDI files, carrier files
    children: dict[str, _Child] = {}
    for block_no, first in enumerate(range(0, config.days, bd)):
        days = range(first, min(first + bd, config.days))
        ob = timed("orders", generate_block, config, master, days)
        f = timed("fulfilment", build_fulfilment, ob, master, counters, as_of, truth)
        b = timed("billing", build_billing, f, master, counters, as_of, truth)
        r = timed("returns", build_returns, f, b, counters, as_of, truth)
        # this block's stores and files are written by forked children while this process
        # generates the next block; children writing the same files run one after another
        # each chain's next child starts as soon as that chain's previous one is done
        _join(children, "edi", timings, store_counts, truth, carrier, edi)
        children["edi"] = _Child.start(_edi_work, block_no, f, b, r, edi)
        _join(children, "carrier", timings, store_counts, truth, carrier, edi)
        children["carrier"] = _Child.start(_carrier_work, block_no, f, carrier)
        _join(children, "stores", timings, store_counts, truth, carrier, edi)
        children["stores"] = _Child.start(_stores_work, f, b, r, ctx)
        if erp_path:
            _join(children, "erp", timings, store_counts, truth, carrier, edi)
            children["erp"] = _Child.start(_erp_work, erp_path, f, b, r, as_of)
        else:
            timed("erp", erp_writer.write_block, erp, f, b, r, as_of)
        amazon.add(b.amazon_rows, r)
        timed("amazon", amazon.flush, start + days.stop * DAY)
        inv_book.add_block(f, r)
        o = f.orders
        summary["orders"] += int(o["in_erp"].sum())
        summary["order_lines"] += int(o.loc[o["in_erp"], "n_lines"].sum())
        summary["shipments"] += int((f.shipments["shipped_at"] < as_of).sum())
        summary["invoices"] += int((b.invoices["invoiced_at"] < as_of).sum())
        say(
            f"simulated days {days.start + 1}-{days.stop} of {config.days}: "
            f"{summary['order_lines']:,} order lines, {time.perf_counter() - t_start:.1f} s"
        )
    for name in sorted(children):
        _join(children, name, timings, store_counts, truth, carrier, edi)
    if erp_path:
        erp = SqliteStore(erp_path, [], fresh=False)
    wms = SqliteStore(ctx["stores"]["wms"], [], fresh=False)
    shop = SqliteStore(ctx["stores"]["shopify"], [], fresh=False)
    amazon.flush(as_of)
    inv = timed("inventory", inv_book.finish, truth)
    erp.append("inventory_balances", inv["erp_balances"])
    erp.append("inventory_transactions", inv["erp_transactions"])
    wms.append("inventory_snapshots", inv["wms_snapshots"])
    wms.append("inventory_movements", inv["wms_movements"])
    edi.write(edi.inventory_docs(inv["tpl_snapshots"]), 9999)
    edi.write_anomalies(out_dir)
    say("inventory and 846s written; finishing stores")
    shopify_writer.write_payouts(shop)
    # the SQLite stores carry their indexes from the start; the three files finish in parallel
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3) as pool:
        erp_job = pool.submit(erp.finish) if isinstance(erp, SqliteStore) else None
        wms_job = pool.submit(wms.finish)
        shop_job = pool.submit(shop.finish)
        erp_counts = _merge(
            store_counts["erp"],
            erp.finish() if erp_job is None else erp_job.result(),
        )
        wms_counts = _merge(store_counts["wms"], wms_job.result())
        shop_counts = _merge(store_counts["shopify"], shop_job.result())
    timings["erp_finish"] = timings.get("erp_finish", 0.0) + time.perf_counter() - t
    by_type, by_kind = truth.write(out_dir)

    files: dict[str, int] = {}
    files.update(
        {f"erp/{k}": v for k, v in erp_counts.items()}
        if config.erp_url is None
        else {f"erp_url/{k}": v for k, v in erp_counts.items()}
    )
    files.update({f"wms/{k}": v for k, v in wms_counts.items()})
    files.update({f"shopify/{k}": v for k, v in shop_counts.items()})
    files.update(carrier.counts)
    files.update(edi.counts)
    files.update(amazon.counts)
    summary.update(
        {
            "edi_files": len(edi.counts),
            "edi_interchanges": edi.interchanges,
            "edi_transaction_sets": edi.sets,
            "tracking_events": sum(v for k, v in carrier.counts.items() if "/tracking/" in k),
            "freight_bill_lines": sum(
                v for k, v in carrier.counts.items() if "/freight_bills/" in k
            ),
            "freight_bill_files": sum(1 for k in carrier.counts if "/freight_bills/" in k),
            "amazon_settlements": len(amazon.counts),
            "shopify_orders": shop_counts.get("orders", 0),
            "discrepancies": sum(by_type.values()),
            "near_misses": sum(by_kind.values()),
        }
    )
    for t in sorted(set(DEFECT_NAMES) | {"inventory_variance"}):
        summary[f"discrepancies.{t}"] = by_type.get(t, 0)
    for k in NEAR_MISS_KINDS:
        summary[f"near_misses.{k}"] = by_kind.get(k, 0)
    elapsed = time.perf_counter() - t_start
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "as_of": iso1(as_of),
        "config": config.to_json(),
        "summary": summary,
        "files": dict(sorted(files.items())),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    timings["total"] = elapsed
    ru = resource.getrusage(resource.RUSAGE_SELF)  # the generating process's own CPU
    timings["cpu.main"] = ru.ru_utime + ru.ru_stime
    rss_mb = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    (out_dir / "timings.json").write_text(
        json.dumps(
            {
                "elapsed_s": round(elapsed, 3),
                "peak_rss_mb": round(rss_mb, 1),
                "stages_s": {k: round(v, 3) for k, v in sorted(timings.items())},
            },
            indent=2,
        )
        + "\n"
    )
    manifest["elapsed_s"] = elapsed
    return manifest
