"""The MQTT bridge: paho's network thread and the tick thread (see
:mod:`energyopt.service.control.mqtt`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from energyopt.errors import ConflictError, ControlFaceError, MeasurementError, NotFoundError
from energyopt.service.control.intervals import covering, interval, name_segment
from energyopt.service.control.intervals import signature as interval_signature
from energyopt.service.control.mqtt.messages import (
    PAYLOAD_LIMIT_BYTES,
    STAMP_FORMAT,
    BrokerAddress,
    newest_version,
    parse_payload,
    plant_segments,
    rejected,
    schedule_message,
    setpoint_messages,
)
from energyopt.service.control.schedule_cache import ScheduleCache
from energyopt.service.measurements import readings_from_message, record_readings
from energyopt.service.planning import DataPaths
from energyopt.service.settings import Settings
from energyopt.service.store import PlantRecord, Store
from energyopt.service.store import plants as plant_store
from energyopt.service.store.db import dumps

logger = logging.getLogger(__name__)

#: measurement messages waiting for the tick thread before new ones are refused [-]
INBOX_LIMIT = 1000
#: messages paho keeps to send (in flight or waiting for the connection) [-]
OUTBOX_LIMIT = 1000
#: QoS of everything published and of the measurement subscription
QOS = 1
#: keep-alive of the connection; the broker sends the last will after 1.5 times it [s]
KEEPALIVE_S = 30
#: reconnect back-off after a lost connection: first wait, longest wait [s]
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
#: how long the broker keeps the session (subscription, queued readings) after a loss [s]
SESSION_EXPIRY_S = 300
#: how often plants registered or deactivated since are looked for [ticks]
PLANT_SYNC_TICKS = 30


def _queued(info: paho.MQTTMessageInfo) -> bool:
    """Whether paho took the message (False: its outbox is full; try at the next tick)."""
    return info.rc != MQTTErrorCode.MQTT_ERR_QUEUE_SIZE


@dataclasses.dataclass
class _Published:
    """What was last published for one plant (None: publish at the next tick)."""

    segment: str
    schedule_id: int | None = None
    setpoints: tuple[Any, ...] | None = None

    def reset(self) -> None:
        """Publish everything again at the next tick (after a reconnect)."""
        self.schedule_id = None
        self.setpoints = None


@dataclasses.dataclass(frozen=True)
class _Inbound:
    """A measurement message waiting for the tick thread."""

    segment: str
    payload: bytes
    correlation: bytes | None


class MqttBridge:
    """The MQTT face (see the module docstring).

    Parameters
    ----------
    settings : Settings
        ``mqtt_url``, ``mqtt_topic_prefix``, ``instance_id`` and the data roots.
    store : Store
        The service's store (migrated).
    clock : callable, optional
        The instant whose setpoints are published (UTC); default: the current
        time. Measurements are always checked against the current time.
    tick_s : float
        Period of the refresh [s].
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        tick_s: float = 1.0,
    ) -> None:
        if settings.mqtt_url is None:
            raise ControlFaceError("mqtt_url: no MQTT broker set (ENERGYOPT_MQTT_URL)")
        self.address = BrokerAddress.parse(settings.mqtt_url)
        self.settings = settings
        self.prefix = settings.mqtt_topic_prefix.rstrip("/")
        self.store = store
        self.paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tick_s = tick_s
        self.cache = ScheduleCache(store)
        self.connected = threading.Event()
        self.client = self._make_client(f"energyopt-{name_segment(settings.instance_id)}")
        self._plants: dict[int, PlantRecord] = {}
        self._published: dict[int, _Published] = {}
        self._by_segment: dict[str, PlantRecord] = {}
        self._inbox: queue.Queue[_Inbound | None] = queue.Queue(INBOX_LIMIT)
        self._republish = threading.Event()
        self._stopping = threading.Event()
        self._ticks = 0
        self._since = dt.datetime.now(dt.UTC)
        self._online = self.status("online")  # what the network thread sends at each connect
        self._worker = threading.Thread(target=self._run, name="mqtt-tick", daemon=True)

    # ---- topics and messages ------------------------------------------------------------

    def topic(self, *parts: str) -> str:
        """``<prefix>/<parts...>``."""
        return "/".join((self.prefix, *parts))

    @property
    def status_topic(self) -> str:
        """Where the bridge says whether it is online (retained, and the last will)."""
        return self.topic("status")

    def status(self, state: str, reason: str | None = None) -> dict[str, Any]:
        """The status message: ``online`` since when with the plants' topic segments
        (tick thread), or ``offline`` with the reason."""
        message: dict[str, Any] = {"state": state, "instance_id": self.settings.instance_id}
        if state == "online":
            message["since"] = self._since.strftime(STAMP_FORMAT)
            message["plants"] = {
                published.segment: {"plant_id": plant_id, "plant": self._plants[plant_id].name}
                for plant_id, published in sorted(self._published.items())
            }
        else:
            message["reason"] = reason
        return message

    def _publish(
        self, topic: str, message: dict[str, Any] | None, *, retain: bool, correlation: Any = None
    ) -> paho.MQTTMessageInfo:
        """Publish JSON (None: an empty message, which clears a retained one).

        Sent now, or queued by paho until the connection is back.
        """
        properties = Properties(PacketTypes.PUBLISH)
        if message is not None:
            properties.ContentType = "application/json"
        if correlation is not None:
            properties.CorrelationData = correlation
        payload = None if message is None else dumps(message).encode()
        return self.client.publish(topic, payload, qos=QOS, retain=retain, properties=properties)

    # ---- life cycle ---------------------------------------------------------------------

    def _make_client(self, client_id: str) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        client.suppress_exceptions = True  # a failing callback must not end the network thread
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set()
        will = dumps(self.status("offline", "connection lost")).encode()
        client.will_set(self.status_topic, will, qos=QOS, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_queued_messages_set(OUTBOX_LIMIT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self, timeout_s: float = 10.0) -> bool:
        """Connect and start both threads; True once connected within ``timeout_s``.

        An unreachable broker is not an error: the network thread keeps
        trying (logged), and everything is published once it answers.
        """
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(
            self.address.host, self.address.port, KEEPALIVE_S, properties=properties
        )
        self.client.loop_start()
        self._worker.start()
        if self.connected.wait(timeout_s):
            return True
        logger.warning("MQTT broker %s not reachable yet; retrying", self.address)
        return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop ticking, mark the service offline (retained), disconnect."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # full: it sees _stopping after the message
            self._inbox.put_nowait(None)
        if self._worker.is_alive():
            self._worker.join(timeout_s)
        if self.connected.is_set():
            info = self._publish(self.status_topic, self.status("offline", "stopped"), retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (ValueError, RuntimeError):
                logger.warning("MQTT: the offline status could not be sent")
        self.client.disconnect()
        self.client.loop_stop()

    # ---- network thread -----------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        if code.is_failure:
            logger.error("MQTT broker %s refused the connection: %s", self.address, code)
            return
        client.subscribe(self.topic("+", "measurements"), qos=QOS)
        self._publish(self.status_topic, self._online, retain=True)
        self._republish.set()
        self.connected.set()
        logger.info("MQTT connected to %s (topics under %s/)", self.address, self.prefix)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            logger.warning("MQTT connection to %s lost (%s); reconnecting", self.address, code)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """Queue a measurement message for the tick thread (refuse it when oversized or
        when too many wait)."""
        segment = message.topic[len(self.prefix) + 1 : -len("/measurements")]
        correlation = getattr(message.properties, "CorrelationData", None)
        size_bytes = len(message.payload)
        if size_bytes > PAYLOAD_LIMIT_BYTES:
            detail = f"payload: {size_bytes} bytes, more than the limit of {PAYLOAD_LIMIT_BYTES}"
            self._reply(segment, rejected("payload", detail), correlation)
            return
        try:
            self._inbox.put_nowait(_Inbound(segment, bytes(message.payload), correlation))
        except queue.Full:
            detail = f"measurements: {INBOX_LIMIT} messages wait to be stored; send again later"
            self._reply(segment, rejected("measurements", detail), correlation)

    def _reply(self, segment: str, reply: dict[str, Any], correlation: Any) -> None:
        topic = self.topic(segment, "measurements", "result")
        self._publish(topic, reply, retain=False, correlation=correlation)

    # ---- tick thread --------------------------------------------------------------------

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stopping.is_set():
            try:
                inbound = self._inbox.get(timeout=max(0.0, due - time.monotonic()))
            except queue.Empty:
                inbound = None
            if inbound is not None:
                self._answer(inbound)
            if time.monotonic() >= due and not self._stopping.is_set():
                self._guarded(self.tick)
                due = time.monotonic() + self.tick_s

    def _guarded(self, work: Callable[[], Any]) -> None:
        try:
            work()
        except Exception:  # a database hiccup must not end the tick thread
            logger.exception("MQTT refresh failed")

    def tick(self) -> None:
        """One refresh: plants now and then, then each plant's schedule and setpoints."""
        if self._ticks % PLANT_SYNC_TICKS == 0:
            self.sync_plants()
        self._ticks += 1
        if not self.connected.is_set():
            return  # published after the reconnect
        if self._republish.is_set():
            self._republish.clear()
            for state in self._published.values():
                state.reset()
        now = self.clock()
        for plant_id, state in list(self._published.items()):
            self._refresh(self._plants[plant_id], state, now)

    def sync_plants(self) -> None:
        """Follow the store's plants: new active ones are published, deactivated ones'
        retained messages are cleared."""
        plants = plant_store.list_plants(self.store)
        segments = plant_segments(plants)
        active = {p.id: p for p in plants if p.is_active}
        for plant_id in set(self._published) - set(active):
            self._clear(self._published.pop(plant_id).segment)
        for plant_id in set(active) - set(self._published):
            self._published[plant_id] = _Published(segments[plant_id])
        changed = set(active) != set(self._plants)
        self._plants = active
        self._by_segment = {self._published[i].segment: p for i, p in active.items()}
        self._online = self.status("online")
        if changed and self.connected.is_set():
            self._publish(self.status_topic, self._online, retain=True)

    def _clear(self, segment: str) -> None:
        for parts in (("schedule",), ("setpoints", "current"), ("setpoints", "next")):
            self._publish(self.topic(segment, *parts), None, retain=True)

    def _refresh(self, plant: PlantRecord, state: _Published, now: dt.datetime) -> None:
        """Publish a newer schedule version, and the setpoints when their intervals changed."""
        entry = newest_version(self.cache, plant, now)
        if entry is not None and (state.schedule_id is None or entry.record.id > state.schedule_id):
            message = schedule_message(plant, entry)
            if _queued(self._publish(self.topic(state.segment, "schedule"), message, retain=True)):
                state.schedule_id = entry.record.id
        intervals = [interval(found, i) for found, i in covering(self.cache, plant, now, 1)]
        key = interval_signature(intervals)
        if key != state.setpoints:
            sent = [
                _queued(
                    self._publish(self.topic(state.segment, "setpoints", slot), msg, retain=True)
                )
                for slot, msg in setpoint_messages(plant, intervals, now).items()
            ]
            state.setpoints = key if all(sent) else None

    def _answer(self, inbound: _Inbound) -> None:
        """Store a message's readings and publish the reply (``failed`` when the store
        could not be reached: the client may send the message again)."""
        try:
            reply = self.receive(inbound.segment, inbound.payload)
        except Exception:
            logger.exception("MQTT measurement message for %r not stored", inbound.segment)
            detail = "the service could not store the readings (see its log); send them again"
            reply = {"status": "failed", "field": None, "detail": detail}
        self._reply(inbound.segment, reply, inbound.correlation)

    def receive(self, segment: str, payload: bytes) -> dict[str, Any]:
        """Check and store the readings of one measurement message; the reply."""
        plant = self._by_segment.get(segment)
        if plant is None:
            return rejected("topic", f"topic: no active plant has the topic segment {segment!r}")
        try:
            readings = readings_from_message(parse_payload(payload))
            record_readings(
                self.store,
                plant,
                readings,
                roots=self.settings.allowed_data_roots,
                base_dir=self.paths.base_dir,
            )
        except MeasurementError as exc:
            return rejected(exc.field, str(exc))
        except ConflictError as exc:
            return rejected("measurements", f"measurements: {exc}")
        except NotFoundError as exc:
            return rejected("topic", f"topic: {exc}")
        logger.debug("plant %d: %d readings over MQTT", plant.id, len(readings))
        return {"status": "stored", "count": len(readings)}


def start_bridge(settings: Settings, store: Store, timeout_s: float = 5.0) -> MqttBridge:
    """A started :class:`MqttBridge` for ``settings.mqtt_url`` on ``store``."""
    bridge = MqttBridge(settings, store)
    bridge.start(timeout_s)
    return bridge
