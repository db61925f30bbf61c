"""The OPC UA server with real asyncua clients on loopback: setpoints equal to
``setpoints/current``, measurements written and planned from, users, roles and
encrypted sessions with generated certificates."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

asyncua = pytest.importorskip("asyncua", reason="the control extra (asyncua) is not installed")

from asyncua import Client, ua  # noqa: E402
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256  # noqa: E402

from api.routes.setpoints import collect  # noqa: E402
from energyopt.service.control.opcua.address_space import NAMESPACE  # noqa: E402
from energyopt.service.control.opcua.certs import (  # noqa: E402
    CertificateFiles,
    Pki,
    client_uri,
    make_certificate,
    make_client_certificate,
    make_server_certificate,
)
from energyopt.service.control.opcua.server import ControlServer, ServerThread  # noqa: E402
from energyopt.service.control.schedule_cache import ScheduleCache  # noqa: E402
from energyopt.service.planning import DataPaths, PlanningOptions, plan_plant  # noqa: E402
from energyopt.service.settings import Settings  # noqa: E402
from energyopt.service.store import keys as key_store  # noqa: E402
from energyopt.service.store import measurements as measurement_store  # noqa: E402
from energyopt.service.store import plants as plant_store  # noqa: E402
from energyopt.service.store import scenarios as scenario_store  # noqa: E402
from energyopt.service.store.documents import (  # noqa: E402
    document_from_file,
    to_document,
    validate_document,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
UTC = dt.UTC
#: 12:30 in Paris, after the 11:00 planning time: the plan delivers 2026-06-11
PLANNED_AT = dt.datetime(2026, 6, 10, 10, 30, tzinfo=UTC)
#: one second before and at a boundary inside the delivery day (10:15 in Paris)
BEFORE_BOUNDARY = dt.datetime(2026, 6, 11, 8, 14, 59, tzinfo=UTC)
AT_BOUNDARY = dt.datetime(2026, 6, 11, 8, 15, tzinfo=UTC)


def _now() -> dt.datetime:
    """The current time to the microsecond: every reading of the module has its own stamp."""
    return dt.datetime.now(UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Clock:
    """The instant the server shows; tests move it."""

    now: dt.datetime = BEFORE_BOUNDARY

    def __call__(self) -> dt.datetime:
        return self.now


@dataclasses.dataclass
class Plant:
    """The running server, its store and what the tests need to reach it."""

    settings: Settings
    store: Any
    plant: Any
    tokens: dict[str, str]
    thread: ServerThread
    clock: Clock
    pki: Pki
    client_files: CertificateFiles

    @property
    def url(self) -> str:
        assert self.settings.opcua_endpoint is not None
        return self.settings.opcua_endpoint

    def show(self, instant: dt.datetime) -> None:
        """Move the server's clock and wait for its refresh."""
        self.clock.now = instant
        self.thread.call(self.thread.server.refresh)


def _register(settings: Settings, store) -> Any:
    document = document_from_file("example.yaml", scenarios_dir=settings.scenarios_dir)
    scenario = validate_document(
        document, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir
    )
    stored = scenario_store.create_scenario(
        store,
        name=scenario.name,
        description=scenario.description,
        document=to_document(scenario, scenarios_dir=settings.scenarios_dir),
    )
    return plant_store.create_plant(
        store,
        name="pilot",
        scenario_id=stored.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Paris",
        options=PlanningOptions.parse({"inputs": "replay"}).model_dump(),
    )


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Iterator[Plant]:
    root = tmp_path_factory.mktemp("opcua")
    settings = Settings(
        data_dir=root / "data",
        scenarios_dir=SCENARIOS,
        opcua_endpoint=f"opc.tcp://127.0.0.1:{_free_port()}/energyopt/",
        opcua_security=["none", "sign", "sign_encrypt"],
        opcua_pki_dir=root / "pki",
    )
    pki = Pki(settings.opcua_pki)
    make_server_certificate(pki, ["127.0.0.1", "localhost"])
    client_files = make_client_certificate(pki, "scada")
    store = settings.open_store()
    store.migrate()
    record = _register(settings, store)
    paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
    outcome = plan_plant(store, record.id, paths, now=PLANNED_AT)
    assert outcome.status == "published", outcome.error
    tokens = {
        role: key_store.create_key(store, name=f"scada {role}", role=role)[1]
        for role in ("viewer", "planner")
    }
    clock = Clock()
    server = ControlServer(settings, store, clock=clock, tick_s=0.2)
    thread = ServerThread(server)
    thread.start()
    try:
        yield Plant(settings, store, record, tokens, thread, clock, pki, client_files)
    finally:
        thread.stop()
        store.close()


def _client(plant: Plant, role: str | None = "planner", password: str | None = None) -> Client:
    client = Client(url=plant.url, timeout=10)
    if role is not None:
        client.set_user(f"scada-{role}")
        client.set_password(password if password is not None else plant.tokens[role])
    return client


async def _node(client: Client, path: str):
    namespace = await client.get_namespace_index(NAMESPACE)
    return client.get_node(ua.NodeId(path, namespace))


async def _browse_setpoints(client: Client) -> dict[str, Any]:
    """Every setpoint variable under Plants/pilot, browsed from the Objects folder."""
    namespace = await client.get_namespace_index(NAMESPACE)
    plants = await client.nodes.objects.get_child(f"{namespace}:Plants")
    pilot = await plants.get_child(f"{namespace}:pilot")
    found = {}
    for asset in await pilot.get_children():
        asset_name = (await asset.read_browse_name()).Name
        if asset_name in ("Schedule", "Status"):
            continue
        try:
            folder = await asset.get_child(f"{namespace}:Setpoints")
        except ua.UaStatusCodeError:
            continue  # fixed loads take no command
        for slot in await folder.get_children():
            slot_name = (await slot.read_browse_name()).Name
            for variable in await slot.get_children():
                name = (await variable.read_browse_name()).Name
                found[f"{asset_name}.{slot_name}.{name}"] = variable
    return found


def _expected(plant: Plant, instant: dt.datetime) -> list[dict[str, Any]]:
    """What GET setpoints/current answers at ``instant`` (the route's own function)."""
    cache = ScheduleCache(plant.store)
    return [json.loads(text) for text in collect(cache, plant.plant, instant, 1)]


def _read_all(plant: Plant) -> tuple[dict[str, Any], dict[str, Any]]:
    async def main():
        async with _client(plant, "viewer") as client:
            nodes = await _browse_setpoints(client)
            values = {key: await node.read_value() for key, node in nodes.items()}
            schedule = {}
            for slot in ("Current", "Next"):
                for name in ("ValidFrom", "ValidTo", "ScheduleVersion", "IsFallback"):
                    node = await _node(client, f"Plants/pilot/Schedule/{slot}/{name}")
                    schedule[f"{slot}.{name}"] = await node.read_value()
            unit = await _node(client, "Plants/pilot/bess/Setpoints/Current/power_kw")
            eu = await unit.get_child("0:EngineeringUnits")
            schedule["bess.power_kw.unit"] = (await eu.read_value()).DisplayName.Text
            return values, schedule

    return asyncio.run(main())


def test_every_setpoint_node_equals_setpoints_current_across_a_boundary(plant):
    for instant in (BEFORE_BOUNDARY, AT_BOUNDARY):
        plant.show(instant)
        values, schedule = _read_all(plant)
        expected = _expected(plant, instant)
        assert len(expected) == 2
        want = {
            f"{asset}.{slot}.{name}": value
            for slot, item in zip(("Current", "Next"), expected, strict=True)
            for asset, setpoints in item["setpoints"].items()
            for name, value in setpoints.items()
        }
        assert len(want) > 10
        assert values == want, instant
        for slot, item in zip(("Current", "Next"), expected, strict=True):
            assert schedule[f"{slot}.ValidFrom"] == dt.datetime.fromisoformat(item["valid_from"])
            assert schedule[f"{slot}.ValidTo"] == dt.datetime.fromisoformat(item["valid_to"])
            assert schedule[f"{slot}.ScheduleVersion"] == item["schedule_version"]
            assert schedule[f"{slot}.IsFallback"] is item["is_fallback"]
        assert schedule["bess.power_kw.unit"] == "kW"
    # the boundary moved the intervals on by one
    assert schedule["Current.ValidFrom"] == AT_BOUNDARY


def _write(plant: Plant, path: str, value: Any, at: dt.datetime | None, role: str = "planner"):
    """Write a reading as ``role``; the status code's name ("Good" or the Bad one)."""

    async def main():
        async with _client(plant, role) as client:
            node = await _node(client, path)
            data = ua.DataValue(ua.Variant(value, ua.VariantType.Double), SourceTimestamp=at)
            try:
                await node.write_value(data)
            except ua.UaStatusCodeError as exc:
                return ua.StatusCode(exc.code).name
            return "Good"

    return asyncio.run(main())


def _latest(plant: Plant) -> dict[tuple[str, str], Any]:
    records = measurement_store.latest_measurements(plant.store, plant_id=plant.plant.id)
    return {(r.asset, r.quantity): r for r in records}


SOC = "Plants/pilot/bess/Measurements/soc_frac"


def test_written_measurement_is_stored_and_the_next_plan_starts_from_it(plant):
    now = _now()
    assert _write(plant, SOC, 0.9, now) == "Good"
    stored = _latest(plant)[("bess", "soc_frac")]
    assert stored.value == 0.9
    assert stored.measured_at == now
    assert _write(plant, SOC, 0.9, now) == "Good"  # the same reading again: stored once
    paths = DataPaths(plant.settings.allowed_data_roots, plant.settings.scenarios_dir)
    outcome = plan_plant(
        plant.store,
        plant.plant.id,
        paths,
        now=now + dt.timedelta(seconds=1),
        issued_at=now.replace(microsecond=0),
    )
    assert outcome.status == "published", outcome.error
    measured = outcome.schedule.payload_data()["state"]["measured"]
    bess = [s for s in measured if s["asset"] == "bess"]
    assert [(s["quantity"], s["value"]) for s in bess] == [("soc_frac", 0.9)]


def _read(plant: Plant, path: str):
    async def main():
        async with _client(plant, "viewer") as client:
            return await (await _node(client, path)).read_data_value()

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("value", "age", "status"),
    [
        (1.4, dt.timedelta(0), "BadOutOfRange"),
        (0.5, dt.timedelta(days=30), "BadInvalidTimestamp"),
        (0.5, -dt.timedelta(hours=1), "BadInvalidTimestamp"),
        (0.5, None, "BadInvalidTimestamp"),
    ],
)
def test_refused_write_gets_a_bad_status_and_changes_nothing(plant, value, age, status):
    now = _now()
    assert _write(plant, SOC, 0.8, now - dt.timedelta(seconds=5)) == "Good"
    before_store, before_node = _latest(plant), _read(plant, SOC)
    at = None if age is None else now - age
    assert _write(plant, SOC, value, at) == status
    after_node = _read(plant, SOC)
    assert _latest(plant) == before_store
    assert (after_node.Value, after_node.SourceTimestamp) == (
        before_node.Value,
        before_node.SourceTimestamp,
    )


def test_conflicting_reading_is_refused_and_keeps_the_stored_value(plant):
    at = _now() - dt.timedelta(minutes=1)
    assert _write(plant, SOC, 0.3, at) == "Good"
    assert _write(plant, SOC, 0.4, at) == "BadEntryExists"
    records = measurement_store.latest_measurements(plant.store, plant_id=plant.plant.id, at=at)
    assert {(r.asset, r.quantity): r.value for r in records}[("bess", "soc_frac")] == 0.3


def test_viewer_can_read_but_not_write_or_request_a_replan(plant):
    now = _now()
    before = _latest(plant)
    assert _write(plant, SOC, 0.5, now, role="viewer") == "BadUserAccessDenied"
    assert _latest(plant) == before

    async def main():
        async with _client(plant, "viewer") as client:
            pilot = await _node(client, "Plants/pilot")
            method = await _node(client, "Plants/pilot/RequestReplan")
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await pilot.call_method(method)
            setpoint = await _node(client, "Plants/pilot/bess/Setpoints/Current/power_kw")
            with pytest.raises(ua.UaStatusCodeError):
                await setpoint.write_value(ua.Variant(1.0, ua.VariantType.Double))
            return refused.value.code, await setpoint.read_value()

    code, value = asyncio.run(main())
    assert code == ua.StatusCodes.BadUserAccessDenied
    assert isinstance(value, float)


def test_planner_cannot_write_a_setpoint(plant):
    async def main():
        async with _client(plant, "planner") as client:
            setpoint = await _node(client, "Plants/pilot/bess/Setpoints/Current/power_kw")
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await setpoint.write_value(ua.Variant(1.0, ua.VariantType.Double))
            return refused.value.code

    assert asyncio.run(main()) == ua.StatusCodes.BadUserAccessDenied


@pytest.mark.parametrize(
    ("role", "password"), [(None, None), ("viewer", "eo_wrong"), ("planner", "")]
)
def test_anonymous_and_wrong_password_sessions_are_refused(plant, role, password):
    async def main():
        client = _client(plant, role, password)
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await client.connect()
        await client.disconnect()
        return refused.value.code

    code = asyncio.run(main())
    assert code in (ua.StatusCodes.BadIdentityTokenRejected, ua.StatusCodes.BadUserAccessDenied)


async def _secure_client(plant: Plant, files: CertificateFiles, mode, uri: str) -> Client:
    client = _client(plant, "planner")
    client.application_uri = uri
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(files.certificate),
        str(files.private_key),
        server_certificate=str(plant.pki.server_cert),
        mode=mode,
    )
    return client


@pytest.mark.parametrize(
    "mode", [ua.MessageSecurityMode.SignAndEncrypt, ua.MessageSecurityMode.Sign]
)
def test_secure_session_with_generated_certificates_reads_and_writes(plant, mode):
    now = _now()

    async def main():
        client = await _secure_client(plant, plant.client_files, mode, client_uri("scada"))
        async with client:
            assert client.security_policy.Mode == mode
            node = await _node(client, SOC)
            await node.write_value(
                ua.DataValue(ua.Variant(0.61, ua.VariantType.Double), SourceTimestamp=now)
            )
            heartbeat = await _node(client, "Plants/pilot/Status/Heartbeat")
            return await heartbeat.read_value()

    assert asyncio.run(main()) > 0
    assert _latest(plant)[("bess", "soc_frac")].value == 0.61


def test_client_certificate_outside_the_trust_list_is_refused(plant, tmp_path):
    stranger = CertificateFiles(tmp_path / "cert.der", tmp_path / "key.pem")
    uri = client_uri("stranger")
    make_certificate(stranger, common_name="stranger", uri=uri, hostnames=["x"], server=False)

    async def main():
        client = await _secure_client(plant, stranger, ua.MessageSecurityMode.SignAndEncrypt, uri)
        with pytest.raises((ua.UaStatusCodeError, ConnectionError, asyncio.TimeoutError)):
            await client.connect()
        await client.disconnect()

    asyncio.run(main())


def test_status_object_counts_the_heartbeat_and_knows_the_last_plan(plant):
    async def main():
        async with _client(plant, "viewer") as client:
            beat = await _node(client, "Plants/pilot/Status/Heartbeat")
            first = await beat.read_value()
            await asyncio.sleep(0.5)
            last_plan = await (await _node(client, "Plants/pilot/Status/LastPlanTime")).read_value()
            state = await (await _node(client, "Plants/pilot/Status/PlanningState")).read_value()
            return first, await beat.read_value(), last_plan, state

    first, second, last_plan, state = asyncio.run(main())
    assert second > first
    assert isinstance(last_plan, dt.datetime)
    assert state in ("idle", "published")


def test_planner_requests_a_replan_and_the_status_follows_it(plant):
    """The re-plan is an intraday one: published while 10:14:59 runs, it keeps the
    running interval's setpoints and takes over at the 10:15 boundary."""
    plant.show(BEFORE_BOUNDARY)
    running_before, schedule_before = _read_all(plant)

    async def main():
        async with _client(plant, "planner") as client:
            pilot = await _node(client, "Plants/pilot")
            method = await _node(client, "Plants/pilot/RequestReplan")
            last_plan = await _node(client, "Plants/pilot/Status/LastPlanTime")
            state = await _node(client, "Plants/pilot/Status/PlanningState")
            before = await last_plan.read_value()
            answer = await pilot.call_method(method)
            seen = {await state.read_value()}
            for _ in range(300):
                if await state.read_value() not in ("planning", "idle"):
                    break
                await asyncio.sleep(0.1)
            return answer, seen, await state.read_value(), before, await last_plan.read_value()

    answer, seen, final, before, after = asyncio.run(main())
    assert answer == "accepted"
    assert seen == {"planning"}
    assert final == "published"
    assert after > before
    plant.show(BEFORE_BOUNDARY)
    running_after, schedule_after = _read_all(plant)
    new_version = schedule_after["Current.ScheduleVersion"]
    assert new_version > schedule_before["Current.ScheduleVersion"]
    current = {k: v for k, v in running_after.items() if ".Current." in k}
    assert current == {k: v for k, v in running_before.items() if ".Current." in k}
    plant.show(AT_BOUNDARY)
    values, schedule = _read_all(plant)
    assert schedule["Current.ValidFrom"] == AT_BOUNDARY
    assert schedule["Current.ScheduleVersion"] == new_version
    expected = _expected(plant, AT_BOUNDARY)
    assert expected[0]["schedule_version"] == new_version
    assert {k: v for k, v in values.items() if ".Current." in k} == {
        f"{asset}.Current.{name}": value
        for asset, setpoints in expected[0]["setpoints"].items()
        for name, value in setpoints.items()
    }
