"""The file sensors request a refresh when, and only when, new files land."""

from __future__ import annotations

import os

import dagster as dg

from trueup.settings import Paths


def _tick(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    from orchestration.definitions import defs

    context = dg.build_sensor_context(cursor=cursor, definitions=defs)
    return sensor(context)


def _sensor(name: str) -> dg.SensorDefinition:
    from orchestration.sensors import SENSORS

    return next(s for s in SENSORS if s.name == name)


def test_edi_sensor_requests_a_refresh_when_a_new_interchange_lands(paths: Paths) -> None:
    inbound = paths.sources / "edi" / "inbound" / "ACME"
    inbound.mkdir(parents=True)
    sensor = _sensor("edi_new_files")

    assert isinstance(_tick(sensor, None), dg.SkipReason)

    (inbound / "850_0001.x12").write_text("ISA*00*...~")
    first = _tick(sensor, None)
    assert isinstance(first, dg.SensorResult)
    assert len(first.run_requests) == 1
    assert first.run_requests[0].tags["trueup/source"] == "edi"

    # Same files, advanced cursor: nothing to do.
    assert isinstance(_tick(sensor, first.cursor), dg.SkipReason)

    later = inbound / "810_0002.x12"
    later.write_text("ISA*00*...~")
    stat = later.stat()
    os.utime(later, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = _tick(sensor, first.cursor)
    assert isinstance(second, dg.SensorResult)
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_edi_sensor_ignores_outbound_and_hidden_files(paths: Paths) -> None:
    (paths.sources / "edi" / "outbound" / "ACME").mkdir(parents=True)
    (paths.sources / "edi" / "outbound" / "ACME" / "855.x12").write_text("x")
    (paths.sources / "edi" / "inbound").mkdir(parents=True)
    (paths.sources / "edi" / "inbound" / ".partial.x12").write_text("x")
    assert isinstance(_tick(_sensor("edi_new_files"), None), dg.SkipReason)


def test_carrier_sensor_targets_the_carrier_refresh_job(paths: Paths) -> None:
    (paths.sources / "carrier" / "freight_bills").mkdir(parents=True)
    (paths.sources / "carrier" / "freight_bills" / "bill.csv").write_text("a,b\n")
    sensor = _sensor("carrier_new_files")
    assert sensor.job_name == "refresh_carrier"
    assert isinstance(_tick(sensor, None), dg.SensorResult)
