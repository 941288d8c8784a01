"""Injected faults: what a resilient client must survive, on demand and reproducibly."""

from __future__ import annotations

import socket
import time
import urllib.error

import pytest

from simulator.server import FaultPlan, running_server
from simulator.server.faults import FaultInjector

from .conftest import TOKEN, Company, fetch, shopify_headers, wms_headers

SHIPMENTS_URL = "/wms/api/v1/shipments?page_size=5"
ORDERS_URL = "/admin/api/2024-10/orders.json?status=any&limit=5"


def test_first_n_requests_fail_then_the_same_request_succeeds(company: Company) -> None:
    plan = FaultPlan(kinds=("429", "500"), first_n=3)
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        statuses = [fetch(url + SHIPMENTS_URL, wms_headers()).status for _ in range(5)]
    assert statuses == [429, 500, 429, 200, 200]


def test_429_carries_a_configurable_retry_after(company: Company) -> None:
    plan = FaultPlan(kinds=("429",), first_n=2, retry_after=7)
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        wms = fetch(url + SHIPMENTS_URL, wms_headers())
        shop = fetch(url + ORDERS_URL, shopify_headers())
    assert (wms.status, wms.headers["Retry-After"], wms.json["error"]) == (429, "7", "rate_limited")
    assert (shop.status, shop.headers["Retry-After"]) == (429, "7")
    assert "Exceeded" in shop.json["errors"]


def test_retry_after_defaults_to_one_second() -> None:
    assert FaultPlan().retry_after == 1


def test_500_is_a_json_error_in_each_apis_shape(company: Company) -> None:
    plan = FaultPlan(kinds=("500",), first_n=2)
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        wms = fetch(url + SHIPMENTS_URL, wms_headers())
        shop = fetch(url + ORDERS_URL, shopify_headers())
    assert (wms.status, wms.json["error"]) == (500, "internal")
    assert (shop.status, shop.json) == (500, {"errors": "Internal Server Error"})


def test_slow_fault_outlasts_a_client_timeout_then_answers_normally(company: Company) -> None:
    plan = FaultPlan(kinds=("slow",), first_n=1, slow_seconds=0.6)
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        started = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            fetch(url + SHIPMENTS_URL, wms_headers(), timeout=0.2)
        assert time.monotonic() - started < 0.5
        reply = fetch(url + SHIPMENTS_URL, wms_headers(), timeout=2)
    assert reply.status == 200 and len(reply.json["data"]) == 5


def test_slow_fault_answers_correctly_to_a_patient_client(company: Company) -> None:
    plan = FaultPlan(kinds=("slow",), first_n=1, slow_seconds=0.3)
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        started = time.monotonic()
        reply = fetch(url + ORDERS_URL, shopify_headers(), timeout=3)
    assert time.monotonic() - started >= 0.3
    assert reply.status == 200 and len(reply.json["orders"]) == 5


def test_health_is_never_faulted(company: Company) -> None:
    plan = FaultPlan(rate=1.0, kinds=("500",))
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        assert [fetch(f"{url}/health").status for _ in range(3)] == [200, 200, 200]
        assert fetch(url + SHIPMENTS_URL, wms_headers()).status == 500


def test_unauthorised_requests_are_refused_before_any_fault(company: Company) -> None:
    plan = FaultPlan(rate=1.0, kinds=("429",))
    with running_server(company.path, token=TOKEN, faults=plan, quiet=True) as url:
        assert fetch(url + SHIPMENTS_URL, wms_headers("wrong")).status == 401


def test_the_same_seed_faults_the_same_requests() -> None:
    def sequence(seed: int) -> list[str | None]:
        injector = FaultInjector(FaultPlan(rate=0.3, seed=seed))
        return [injector.next_fault() for _ in range(200)]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)
    faults = sequence(7)
    assert 30 < sum(f is not None for f in faults) < 90
    assert {f for f in faults if f} == {"429", "500", "slow"}


def test_a_zero_rate_faults_nothing() -> None:
    injector = FaultInjector(FaultPlan(rate=0.0, seed=3))
    assert all(injector.next_fault() is None for _ in range(500))


@pytest.mark.parametrize(
    "kwargs",
    [{"kinds": ("503",)}, {"rate": 1.5}, {"rate": 0.5, "kinds": ()}, {"first_n": -1}],
)
def test_an_impossible_fault_plan_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**kwargs)
