"""The MQTT bridge against the real broker on 127.0.0.1:1883: retained schedules and
setpoints equal to ``setpoints/current``, measurements stored or rejected like REST
readings, republishing after a new version and after a lost connection, the last will,
and ``energyopt serve --mqtt-url`` as a real process.

Every test uses its own topic prefix and clears the retained messages it made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

mqtt = pytest.importorskip("paho.mqtt.client", reason="the service extra (paho-mqtt) is missing")
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from api.routes.setpoints import collect, current_setpoints  # noqa: E402
from energyopt.errors import MeasurementError  # noqa: E402
from energyopt.service.control.mqtt import PAYLOAD_LIMIT_BYTES, BrokerAddress  # noqa: E402
from energyopt.service.control.mqtt.bridge import MqttBridge  # noqa: E402
from energyopt.service.control.mqtt.messages import parse_payload, plant_segments  # noqa: E402
from energyopt.service.control.schedule_cache import ScheduleCache  # noqa: E402
from energyopt.service.control.setpoints import setpoint_rows  # noqa: E402
from energyopt.service.planning import (  # noqa: E402
    DataPaths,
    PlanningOptions,
    plan_plant,
    planning_instant,
)
from energyopt.service.settings import Settings  # noqa: E402
from energyopt.service.store import plants as plant_store  # noqa: E402
from energyopt.service.store import scenarios as scenario_store  # noqa: E402
from energyopt.service.store.db import dumps  # noqa: E402
from energyopt.service.store.documents import (  # noqa: E402
    document_from_file,
    to_document,
    validate_document,
)
from energyopt.service.store.tables import MeasurementRow  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
HOST, PORT = "127.0.0.1", 1883
URL = f"mqtt://{HOST}:{PORT}"
UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
#: how long a test waits for a message it expects [s]
DEADLINE_S = 15.0
#: a plant name with characters MQTT reserves, and its topic segment
ODD_NAME, ODD_SEGMENT = "line 2/+#", "line_2___"


# ---- the broker -------------------------------------------------------------------------


def _broker_answers() -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, PORT), timeout=1):
        return True
    return False


def _broker_missing() -> str | None:
    """Why no broker can be used (None: one answers, started here if need be)."""
    if _broker_answers():
        return None
    binary = shutil.which("mosquitto")
    if binary is None:
        return f"no MQTT broker on {HOST}:{PORT} and no mosquitto binary to start one"
    subprocess.run([binary, "-p", str(PORT), "-d"], check=False, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _broker_answers():
            return None
        time.sleep(0.2)
    return f"mosquitto -p {PORT} -d was started but does not answer on {HOST}:{PORT}"


@pytest.fixture(scope="module")
def broker() -> None:
    reason = _broker_missing()
    if reason is not None:
        print(reason)
        pytest.skip(reason)


@dataclasses.dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """A paho client subscribed to ``<prefix>/#`` that keeps every message by topic."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(HOST, PORT, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(DEADLINE_S), "the test client did not subscribe"

    def _on_connect(self, client, userdata, flags, code, properties) -> None:
        client.subscribe(f"{self.prefix}/#", qos=1)

    def _on_message(self, client, userdata, message) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        item = Message(message.topic, bytes(message.payload), bool(message.retain), correlation)
        with self._changed:
            self.messages[message.topic].append(item)
            self._changed.notify_all()

    def wait_for(
        self,
        topic: str,
        accept: Callable[[Message], bool] = lambda m: bool(m.payload),
        after: int = 0,
    ) -> Message:
        """The newest message on ``topic`` that ``accept`` takes, among those from the
        ``after``-th on, waiting up to the deadline."""

        def found() -> Message | None:
            seen = self.messages[topic][after:]
            return next((m for m in reversed(seen) if accept(m)), None)

        with self._changed:
            assert self._changed.wait_for(lambda: found() is not None, DEADLINE_S), (
                f"no such message on {topic} within {DEADLINE_S} s; got "
                f"{[m.payload[:200] for m in self.messages[topic]]}"
            )
            message = found()
        assert message is not None
        return message

    def send(self, topic: str, payload: bytes, correlation: bytes | None = None) -> None:
        properties = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            properties.CorrelationData = correlation
        info = self.client.publish(topic, payload, qos=1, properties=properties)
        info.wait_for_publish(DEADLINE_S)

    def clear_retained(self) -> None:
        """Empty every topic of the prefix this client saw that may hold a retained message."""
        for topic in list(self.messages):
            if not topic.endswith(("/measurements", "/result")):
                self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(DEADLINE_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---- the plant --------------------------------------------------------------------------


@dataclasses.dataclass
class Plant:
    root: Path
    store: Any
    plant: Any
    odd: Any
    paths: DataPaths
    issued_at: dt.datetime
    planned_at: dt.datetime

    def settings(self, prefix: str) -> Settings:
        return Settings(
            data_dir=self.root / "data",
            scenarios_dir=SCENARIOS,
            mqtt_url=URL,
            mqtt_topic_prefix=prefix,
            instance_id=f"mqtt-test-{uuid.uuid4().hex[:8]}",
        )


def _register(store, settings: Settings, name: str) -> Any:
    document = document_from_file("example.yaml", scenarios_dir=settings.scenarios_dir)
    scenario = validate_document(
        document, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir
    )
    stored = scenario_store.create_scenario(
        store,
        name=f"{scenario.name} {name}",
        description=scenario.description,
        document=to_document(scenario, scenarios_dir=settings.scenarios_dir),
    )
    return plant_store.create_plant(
        store,
        name=name,
        scenario_id=stored.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Paris",
        options=PlanningOptions.parse({"inputs": "replay"}).model_dump(),
    )


@pytest.fixture(scope="module")
def plant(tmp_path_factory, broker) -> Iterator[Plant]:
    """A plant with a version for the whole of today (issued at yesterday's 11:00, planned
    from today's midnight) and an unplanned one with characters MQTT reserves in its name."""
    root = tmp_path_factory.mktemp("mqtt")
    settings = Settings(data_dir=root / "data", scenarios_dir=SCENARIOS)
    store = settings.open_store()
    store.migrate()
    record = _register(store, settings, "pilot")
    odd = _register(store, settings, ODD_NAME)
    paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
    midnight = pd.Timestamp.now(tz="Europe/Paris").normalize()
    issued_at = planning_instant(dt.time(11, 0), "Europe/Paris", midnight).to_pydatetime()
    planned_at = midnight.tz_convert("UTC").to_pydatetime()  # the plan covers the whole day
    outcome = plan_plant(store, record.id, paths, now=planned_at, issued_at=issued_at)
    assert outcome.status == "published", outcome.error
    try:
        yield Plant(root, store, record, odd, paths, issued_at, planned_at)
    finally:
        store.close()


@contextlib.contextmanager
def bridged(plant: Plant, **kw: Any) -> Iterator[tuple[MqttBridge, Listener]]:
    """A running bridge on a fresh prefix and a client listening to that prefix."""
    prefix = f"energyopt-test/{uuid.uuid4().hex}"
    listener = Listener(prefix)
    bridge = MqttBridge(plant.settings(prefix), plant.store, tick_s=0.2, **kw)
    try:
        assert bridge.start(timeout_s=DEADLINE_S)
        yield bridge, listener
    finally:
        bridge.stop()
        listener.wait_for(bridge.status_topic, lambda m: b'"offline"' in m.payload)
        listener.clear_retained()
        listener.close()


@pytest.fixture(scope="module")
def live(plant) -> Iterator[tuple[MqttBridge, Listener]]:
    """One bridge on the real clock for the read-only and measurement tests."""
    with bridged(plant) as running:
        yield running


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rest(plant: Plant) -> dict[str, Any]:
    """What GET setpoints/current?intervals=0 answers now (the route itself)."""
    response = current_setpoints(plant.plant, ScheduleCache(plant.store), intervals=0)
    return json.loads(response.body)


def _expected(plant: Plant, record: Any, instant: dt.datetime) -> list[dict[str, Any]]:
    """The intervals setpoints/current shows at ``instant`` (the route's own function)."""
    return [json.loads(text) for text in collect(ScheduleCache(plant.store), record, instant, 1)]


def _without_time(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "generated_at"}


def _starts_at(instant: dt.datetime) -> Callable[[Message], bool]:
    """Whether a setpoints message's first interval starts at ``instant``."""

    def accept(message: Message) -> bool:
        intervals = json.loads(message.payload)["intervals"] if message.payload else []
        return bool(intervals) and _utc(intervals[0]["valid_from"]) == instant

    return accept


def _of_version(version: int) -> Callable[[Message], bool]:
    def accept(message: Message) -> bool:
        intervals = json.loads(message.payload)["intervals"] if message.payload else []
        return bool(intervals) and intervals[0]["schedule_version"] == version

    return accept


# ---- pure parts ------------------------------------------------------------------------


def test_broker_urls_give_host_port_credentials_and_tls():
    plain = BrokerAddress.parse("mqtt://127.0.0.1")
    assert (plain.host, plain.port, plain.username, plain.tls) == ("127.0.0.1", 1883, None, False)
    secure = BrokerAddress.parse("mqtts://scada%40plant:p%3Ass@broker.example:9883/")
    assert (secure.host, secure.port, secure.tls) == ("broker.example", 9883, True)
    assert (secure.username, secure.password) == ("scada@plant", "p:ss")
    assert "p:ss" not in repr(secure)
    assert str(secure) == "mqtts://broker.example:9883"
    assert BrokerAddress.parse("mqtts://broker.example").port == 8883


def test_plant_names_become_unique_topic_segments():
    plants = [
        SimpleNamespace(id=3, name="a_b"),
        SimpleNamespace(id=1, name="a/b"),
        SimpleNamespace(id=2, name="line #2 +"),
        SimpleNamespace(id=4, name="$SYS"),
    ]
    segments = plant_segments(plants)  # type: ignore[arg-type]
    assert segments == {1: "a_b", 2: "line__2__", 3: "a_b~3", 4: "_SYS"}
    assert not any(set(s) & set("/+#$") for s in segments.values())


def test_payload_checks_name_the_payload():
    assert parse_payload(b'{"measurements": [{"value": 12345678901234567890}]}') == {
        "measurements": [{"value": 12345678901234567890.0}]
    }
    for bad in (b"{", b"\xff\xfe", b'{"a": 1}\x00', b'{"v": NaN}', b"[" * 100_000):
        with pytest.raises(MeasurementError, match="payload") as caught:
            parse_payload(bad)
        assert caught.value.field == "payload"
    with pytest.raises(MeasurementError, match="limit"):
        parse_payload(b" " * (PAYLOAD_LIMIT_BYTES + 1))


# ---- schedules and setpoints ------------------------------------------------------------


def test_retained_schedule_and_setpoints_equal_the_rest_answer(plant, live):
    bridge, listener = live
    for parts in (("schedule",), ("setpoints", "current"), ("setpoints", "next")):
        listener.wait_for(bridge.topic("pilot", *parts))
    late = Listener(bridge.prefix)  # a client that connects after everything was published
    try:
        status = late.wait_for(bridge.status_topic, lambda m: b'"online"' in m.payload)
        assert status.retain
        plants = status.json()["plants"]
        assert plants["pilot"] == {"plant_id": plant.plant.id, "plant": "pilot"}
        assert plants[ODD_SEGMENT] == {"plant_id": plant.odd.id, "plant": ODD_NAME}

        schedule = late.wait_for(bridge.topic("pilot", "schedule"))
        assert schedule.retain
        entry = ScheduleCache(plant.store).latest(plant.plant.id)
        assert entry is not None
        body = schedule.json()
        record = entry.record
        assert (body["version"], body["delivery_date"]) == (
            record.version,
            record.delivery_date.isoformat(),
        )
        assert body["issued_at"] == record.issued_at.isoformat()
        for flag in ("is_fallback", "has_violations", "is_incumbent"):
            assert body[flag] == getattr(record, flag)
        setpoints = json.loads(dumps(setpoint_rows(record.payload_data())))
        assert [item["setpoints"] for item in body["intervals"]] == setpoints
        assert len(body["intervals"]) == len(record.payload_data()["time"])

        deadline = time.monotonic() + DEADLINE_S
        while True:  # an interval boundary may pass between the two reads: read both again
            current = late.wait_for(bridge.topic("pilot", "setpoints", "current"))
            rest = _rest(plant)
            if _without_time(current.json()) == _without_time(rest):
                break
            assert time.monotonic() < deadline, (current.json(), rest)
            time.sleep(0.2)
        assert current.retain
        assert len(current.json()["intervals"]) == 1
        at = _utc(current.json()["generated_at"])
        assert current.json()["intervals"] == _expected(plant, plant.plant, at)[:1]
        following = late.wait_for(bridge.topic("pilot", "setpoints", "next"))
        assert following.json()["intervals"] == _expected(plant, plant.plant, at)[1:2]
    finally:
        late.close()


def test_a_plant_without_schedule_gets_empty_setpoints_under_a_sanitised_topic(plant, live):
    bridge, listener = live
    current = listener.wait_for(bridge.topic(ODD_SEGMENT, "setpoints", "current")).json()
    assert current["plant"] == ODD_NAME
    assert (current["intervals"], current["complete"]) == ([], False)
    assert "no published schedule covers" in current["detail"]
    assert not listener.messages[bridge.topic(ODD_SEGMENT, "schedule")]


def test_setpoints_move_at_an_interval_boundary(plant):
    today = dt.datetime.now(PARIS).date()
    boundary = dt.datetime.combine(today, dt.time(10, 15), PARIS).astimezone(UTC)
    clock = SimpleNamespace(now=boundary - dt.timedelta(seconds=1))
    with bridged(plant, clock=lambda: clock.now) as (bridge, listener):
        topic = bridge.topic("pilot", "setpoints", "current")
        before = listener.wait_for(topic).json()
        assert _utc(before["intervals"][0]["valid_to"]) == boundary
        assert before["intervals"] == _expected(plant, plant.plant, clock.now)[:1]
        clock.now = boundary
        after = listener.wait_for(topic, _starts_at(boundary)).json()
        assert after["intervals"] == _expected(plant, plant.plant, boundary)[:1]
        assert after["generated_at"] == boundary.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        next_start = _utc(after["intervals"][0]["valid_to"])
        following = listener.wait_for(
            bridge.topic("pilot", "setpoints", "next"), _starts_at(next_start)
        )
        assert following.json()["intervals"] == _expected(plant, plant.plant, boundary)[1:2]
        assert following.json()["plant_id"] == plant.plant.id


def test_a_new_version_is_republished(plant):
    with bridged(plant) as (bridge, listener):
        schedule_topic = bridge.topic("pilot", "schedule")
        first = listener.wait_for(schedule_topic).json()
        current_topic = bridge.topic("pilot", "setpoints", "current")
        listener.wait_for(current_topic)
        replanned = plan_plant(
            plant.store,
            plant.plant.id,
            plant.paths,
            now=plant.planned_at,
            issued_at=plant.issued_at + dt.timedelta(minutes=1),
        )
        assert replanned.status == "published", replanned.error
        version = replanned.schedule.version
        assert version > first["version"]
        newer = listener.wait_for(
            schedule_topic, lambda m: bool(m.payload) and m.json()["version"] == version
        )
        assert newer.json()["delivery_date"] == first["delivery_date"]
        current = listener.wait_for(current_topic, _of_version(version))
        at = _utc(current.json()["generated_at"])
        assert current.json()["intervals"] == _expected(plant, plant.plant, at)[:1]


# ---- measurements -----------------------------------------------------------------------


def _rows(plant: Plant) -> list[tuple[str, str, float, dt.datetime]]:
    query = sa.select(
        MeasurementRow.asset,
        MeasurementRow.quantity,
        MeasurementRow.value,
        MeasurementRow.measured_at,
    ).where(MeasurementRow.plant_id == plant.plant.id)
    with plant.store.reading() as session:
        return sorted(tuple(row) for row in session.execute(query))


def _ask(bridge: MqttBridge, listener: Listener, payload: bytes, segment: str = "pilot") -> Any:
    """Send a measurement message and wait for its reply (matched by correlation data)."""
    correlation = uuid.uuid4().bytes
    listener.send(bridge.topic(segment, "measurements"), payload, correlation)
    reply = listener.wait_for(
        bridge.topic(segment, "measurements", "result"), lambda m: m.correlation == correlation
    )
    assert not reply.retain
    return reply.json()


def _message(*readings: dict[str, Any]) -> bytes:
    return json.dumps({"measurements": list(readings)}).encode()


def _soc(value: Any, at: dt.datetime | None = None, asset: str = "bess") -> dict[str, Any]:
    stamp = (at or dt.datetime.now(UTC) - dt.timedelta(seconds=30)).isoformat()
    return {"asset": asset, "quantity": "soc_frac", "value": value, "measured_at": stamp}


def test_a_measurement_is_stored_once_and_answered(plant, live):
    bridge, listener = live
    before = _rows(plant)
    reading = _soc(0.62)
    for _ in range(2):  # the same message twice: stored once
        assert _ask(bridge, listener, _message(reading)) == {"status": "stored", "count": 1}
    added = sorted(set(_rows(plant)) - set(before))
    assert len(_rows(plant)) == len(before) + 1
    assert [(a, q, v) for a, q, v, _ in added] == [("bess", "soc_frac", 0.62)]
    stamp = added[0][3]
    assert (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)) == _utc(reading["measured_at"])


STALE = dt.datetime(2020, 1, 1, tzinfo=UTC)
REFUSED = {
    "unknown asset": (_message(_soc(0.5, asset="nope")), "measurements[0].asset"),
    "value out of range": (_message(_soc(1.4)), "measurements[0].value"),
    "stale time stamp": (_message(_soc(0.5, at=STALE)), "measurements[0].measured_at"),
    "text value": (_message(_soc("0.5")), "measurements[0].value"),
    "boolean value": (_message(_soc(True)), "measurements[0].value"),
    "one bad reading of two": (_message(_soc(0.4), _soc(-1.0)), "measurements[1].value"),
    "overlong number": (
        b'{"measurements": [{"asset": "bess", "quantity": "soc_frac", "value": 1'
        + b"0" * 400
        + b', "measured_at": "2030-01-01T00:00:00Z"}]}',
        "measurements[0].value",
    ),
    "no list": (b'{"measurements": {}}', "measurements"),
    "malformed JSON": (b'{"measurements": [', "payload"),
    "NaN": (b'{"measurements": [{"value": NaN}]}', "payload"),
    "NUL byte": (_message(_soc(0.5)) + b"\x00", "payload"),
    "not UTF-8": (b"\xff" * 10, "payload"),
    "huge payload": (b" " * (PAYLOAD_LIMIT_BYTES + 10), "payload"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_invalid_measurement_is_rejected_naming_the_field(plant, live, case):
    bridge, listener = live
    payload, field = REFUSED[case]
    before = _rows(plant)
    reply = _ask(bridge, listener, payload)
    assert (reply["status"], reply["field"]) == ("rejected", field), reply
    assert reply["detail"]
    assert _rows(plant) == before


def test_a_conflicting_reading_and_an_unknown_plant_are_rejected(plant, live):
    bridge, listener = live
    reading = _soc(0.3)
    assert _ask(bridge, listener, _message(reading))["status"] == "stored"
    before = _rows(plant)
    conflict = _ask(bridge, listener, _message({**reading, "value": 0.31}))
    assert (conflict["status"], conflict["field"]) == ("rejected", "measurements")
    assert "already has value" in conflict["detail"]
    unknown = _ask(bridge, listener, _message(_soc(0.5)), segment="nowhere")
    assert (unknown["status"], unknown["field"]) == ("rejected", "topic")
    assert _rows(plant) == before
    assert _ask(bridge, listener, _message(_soc(0.35)))["status"] == "stored"  # still serving


# ---- connection loss --------------------------------------------------------------------


def test_a_lost_connection_sends_the_last_will_then_everything_is_republished(plant):
    with bridged(plant) as (bridge, listener):
        current_topic = bridge.topic("pilot", "setpoints", "current")
        schedule_topic = bridge.topic("pilot", "schedule")
        listener.wait_for(current_topic)
        listener.wait_for(schedule_topic)
        statuses = len(listener.messages[bridge.status_topic])
        published = {t: len(listener.messages[t]) for t in (current_topic, schedule_topic)}
        sock = bridge.client.socket()
        assert sock is not None
        sock.shutdown(socket.SHUT_RDWR)  # the connection drops without a DISCONNECT
        will = listener.wait_for(
            bridge.status_topic, lambda m: b'"offline"' in m.payload, after=statuses
        )
        assert will.json() == {
            "state": "offline",
            "instance_id": bridge.settings.instance_id,
            "reason": "connection lost",
        }
        listener.wait_for(bridge.status_topic, lambda m: b'"online"' in m.payload, after=statuses)
        for topic, count in published.items():  # published again after the reconnect
            listener.wait_for(topic, after=count)
        late = Listener(bridge.prefix)
        try:
            late.wait_for(current_topic)
            late.wait_for(bridge.topic("pilot", "schedule"))
        finally:
            late.close()


# ---- energyopt serve --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_http(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.ConnectError:
            assert time.monotonic() < deadline, f"{url} did not answer within 60 s"
            time.sleep(0.2)


def test_serve_with_an_mqtt_url_publishes_its_status(tmp_path, broker):
    prefix = f"energyopt-test/{uuid.uuid4().hex}"
    listener = Listener(prefix)
    data = tmp_path / "data"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data),
        "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS),
        "ENERGYOPT_DATA_DIR": str(data),
        "ENERGYOPT_MQTT_TOPIC_PREFIX": prefix,
    }
    port = _free_port()
    command = [sys.executable, "-m", "energyopt.cli", "serve", "--port", str(port)]
    command += ["--mqtt-url", URL, "--log-level", "warning"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    status_topic = f"{prefix}/status"
    try:
        online = listener.wait_for(status_topic, lambda m: b'"online"' in m.payload)
        assert "plants" in online.json()
        _wait_for_http(process, f"http://127.0.0.1:{port}/health")  # started up: SIGINT stops
        late = Listener(prefix)
        try:
            assert late.wait_for(status_topic).retain
        finally:
            late.close()
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
        try:
            offline = listener.wait_for(status_topic, lambda m: b'"offline"' in m.payload)
            assert offline.json()["reason"] == "stopped"
        finally:
            listener.clear_retained()
            listener.close()
    assert process.returncode == 0, out
    assert "MQTT on" in out
    assert URL in out
