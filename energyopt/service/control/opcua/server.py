"""The OPC UA server of the plants: setpoints out, measurements in, re-plans on request.

:class:`ControlServer` runs on an asyncio loop: inside ``energyopt serve
--opcua-endpoint URL`` in a thread of its own (:class:`ServerThread`), or
alone with ``energyopt opcua``. Once a second (``tick_s``) it

* adds plants registered since it started;
* reads the intervals at the current instant from the store through a
  :class:`~energyopt.service.control.schedule_cache.ScheduleCache`
  (:func:`energyopt.service.control.intervals.covering`, what
  ``GET .../setpoints/current`` answers) and rewrites the setpoint and schedule
  variables when they changed: at every interval boundary and when a new
  version is published;
* counts each plant's ``Status/Heartbeat`` up and sets ``LastPlanTime``.

A write to a measurement variable is a reading: its value (Double) in the
variable's unit, measured at the write's source timestamp (UTC; required). It
is checked and stored by :func:`energyopt.service.measurements.record_readings`
like a REST reading, and answered:

==============================  ==============================================
status code                     when
==============================  ==============================================
``Good``                        stored (or the same reading stored before)
``BadOutOfRange``               the value lies outside the quantity's range
``BadInvalidTimestamp``         no source timestamp, stale or in the future
``BadEntryExists``              this time stamp was stored with another value
``BadTypeMismatch``             not a Double
``BadUserAccessDenied``         the session's key is a viewer's
==============================  ==============================================

A refused write changes neither the store nor the variable.
``RequestReplan()`` re-plans the rest of the plant's day from its measured
state as a new version that takes over at the next interval boundary (like
``POST .../plan?intraday=true``, :mod:`energyopt.service.planning.intraday`)
in the background; ``Status/PlanningState`` follows it
(``planning``, then the outcome: ``published``, ``failed``, ...).
"""

# asyncua types its integers, strings and times as NewTypes (UInt32, String, DateTime)
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.address_space import AttributeService

from energyopt.errors import (
    ConflictError,
    ControlFaceError,
    EnergyOptError,
    MeasurementError,
    NotFoundError,
)
from energyopt.service.control.intervals import covering, interval, signature
from energyopt.service.control.opcua.address_space import (
    NAMESPACE,
    SCHEDULE_FIELDS,
    SLOTS,
    MeasurementTarget,
    PlantNodes,
    SpaceBuilder,
    setpoint_span,
)
from energyopt.service.control.opcua.certs import SERVER_URI, Pki
from energyopt.service.control.opcua.security import WRITER_ROLES, KeyUserManager, RoleRuleset
from energyopt.service.control.schedule_cache import ScheduleCache
from energyopt.service.measurements import Reading, record_readings
from energyopt.service.planning import DataPaths, PlanningOutcome
from energyopt.service.planning.intraday import replan_intraday
from energyopt.service.settings import Settings
from energyopt.service.store import PlantRecord, Store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store.documents import validate_document

logger = logging.getLogger(__name__)

#: plans a plant now as a new version: (plant id, now UTC) -> outcome
Replanner = Callable[[int, dt.datetime], PlanningOutcome]
#: security modes of the settings -> asyncua policy types
POLICIES = {
    "none": ua.SecurityPolicyType.NoSecurity,
    "sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "sign_encrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}
#: how often new plants are looked for [ticks]
PLANT_SYNC_TICKS = 30
_GOOD = ua.StatusCode(ua.StatusCodes.Good)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def write_status(error: EnergyOptError) -> ua.StatusCode:
    """The Bad status code of a refused measurement write."""
    if isinstance(error, ConflictError):
        return ua.StatusCode(ua.StatusCodes.BadEntryExists)
    field = getattr(error, "field", "") or ""
    if field.endswith(".value"):
        return ua.StatusCode(ua.StatusCodes.BadOutOfRange)
    if field.endswith(".measured_at"):
        return ua.StatusCode(ua.StatusCodes.BadInvalidTimestamp)
    if isinstance(error, NotFoundError):
        return ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown)
    return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)


class _MeasurementWrites(AttributeService):
    """The attribute service, with writes to measurement variables handed to the server."""

    def __init__(self, base: AttributeService, server: ControlServer) -> None:
        super().__init__(base._aspace)
        self._control = server

    async def write(
        self, params: ua.WriteParameters, user: User = User(role=UserRole.Admin)
    ) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for item in params.NodesToWrite:
            target = self._control.targets.get(item.NodeId)
            if target is not None and item.AttributeId == ua.AttributeIds.Value:
                results.append(await self._control.write_measurement(target, item, user))
            else:
                single = ua.WriteParameters(NodesToWrite=[item])
                results.extend(await super().write(single, user))
        return results


@dataclasses.dataclass
class _PlantState:
    """What the server keeps per plant between ticks."""

    nodes: PlantNodes
    shown: tuple[Any, ...] | None = None
    planning: bool = False


class ControlServer:
    """The OPC UA server (see the module docstring).

    Parameters
    ----------
    settings : Settings
        Endpoint, security modes, PKI directory, anonymous access, data roots.
    store : Store
        The service's store (migrated).
    replan : Replanner, optional
        How ``RequestReplan`` plans; default: an intraday re-plan
        (:func:`~energyopt.service.planning.intraday.replan_intraday`) in a thread.
    clock : callable, optional
        The instant whose intervals are shown (UTC); default: the current time.
    tick_s : float
        Period of the refresh and heartbeat [s].
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        replan: Replanner | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        tick_s: float = 1.0,
    ) -> None:
        if settings.opcua_endpoint is None:
            msg = "opcua_endpoint: no OPC UA endpoint set (ENERGYOPT_OPCUA_ENDPOINT)"
            raise ControlFaceError(msg)
        self.settings = settings
        self.endpoint: str = settings.opcua_endpoint
        self.store = store
        self.paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
        self.replan = replan or self._plan_here
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tick_s = tick_s
        self.cache = ScheduleCache(store)
        self.targets: dict[ua.NodeId, MeasurementTarget] = {}
        self.heartbeat = 0
        self._plants: dict[int, _PlantState] = {}
        self._methods: dict[ua.NodeId, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: Server | None = None
        self._builder: SpaceBuilder | None = None
        self._loop_task: asyncio.Task[None] | None = None

    # ---- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Set up security and the address space, listen, start refreshing.

        Raises
        ------
        ControlFaceError
            A signed or encrypted mode is configured but the server has no
            certificate (``energyopt opcua certs`` makes one).
        """
        users = KeyUserManager(self.store, allow_anonymous=self.settings.opcua_allow_anonymous)
        server = Server(user_manager=users)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("energyopt plant control")
        await server.set_application_uri(SERVER_URI)
        await self._secure(server)
        server.iserver.attribute_service = _MeasurementWrites(
            server.iserver.attribute_service, self
        )
        namespace = await server.register_namespace(NAMESPACE)
        folder = await server.nodes.objects.add_folder(
            ua.NodeId("Plants", namespace), ua.QualifiedName("Plants", namespace)
        )
        self._server = server
        self._builder = SpaceBuilder(server, namespace, folder)
        await self.sync_plants()
        await self.refresh()
        await server.start()
        self._loop_task = asyncio.create_task(self._run(), name="opcua-refresh")
        logger.info("OPC UA server on %s (%d plants)", self.endpoint, len(self._plants))

    async def _secure(self, server: Server) -> None:
        modes = self.settings.opcua_security
        pki = Pki(self.settings.opcua_pki)
        if any(mode != "none" for mode in modes):
            if not pki.has_server_certificate():
                msg = (
                    f"opcua_security {','.join(modes)} needs the server certificate "
                    f"{pki.server_cert} and key {pki.server_key}: run `energyopt opcua certs`"
                )
                raise ControlFaceError(msg)
            await server.load_certificate(str(pki.server_cert))
            await server.load_private_key(str(pki.server_key))
            trust_store = TrustStore([pki.trusted], [])
            await trust_store.load()
            options = (
                CertificateValidatorOptions.TRUSTED_VALIDATION
                | CertificateValidatorOptions.PEER_CLIENT
            )
            server.set_certificate_validator(CertificateValidator(options, trust_store))
        server.set_security_policy([POLICIES[m] for m in modes], permission_ruleset=RoleRuleset())
        tokens: list[type] = [ua.UserNameIdentityToken]
        if self.settings.opcua_allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)

    async def stop(self) -> None:
        """Stop refreshing, wait for running re-plans, stop listening."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def _run(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.tick_s)
            ticks += 1
            try:
                if ticks % PLANT_SYNC_TICKS == 0:
                    await self.sync_plants()
                await self.refresh()
            except Exception:  # a database hiccup must not end the refresh
                logger.exception("OPC UA refresh failed")

    # ---- plants -------------------------------------------------------------------------

    async def sync_plants(self) -> None:
        """Add the active plants that have no nodes yet."""
        assert self._builder is not None
        plants = await asyncio.to_thread(plant_store.list_plants, self.store, active_only=True)
        for plant in plants:
            if plant.id in self._plants:
                continue
            scenario = await asyncio.to_thread(self._scenario, plant)
            nodes = await self._builder.add_plant(plant, scenario)
            await self._builder.add_method(nodes, "RequestReplan", self._request_replan)
            assert nodes.node is not None
            self._methods[nodes.node.nodeid] = plant.id
            self.targets.update(nodes.measurements)
            self._plants[plant.id] = _PlantState(nodes)

    def _scenario(self, plant: PlantRecord) -> Any:
        record = scenario_store.get_scenario(self.store, scenario_id=plant.scenario_id)
        return validate_document(
            record.document, roots=self.settings.allowed_data_roots, base_dir=self.paths.base_dir
        )

    # ---- setpoints ----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Count the heartbeat up; rewrite what changed at the clock's instant."""
        self.heartbeat += 1
        now = self.clock()
        for plant_id, state in list(self._plants.items()):
            shown, latest = await asyncio.to_thread(self._snapshot, state.nodes.plant, now)
            await self._write(
                state.nodes.status["Heartbeat"], self.heartbeat, ua.VariantType.UInt32
            )
            if latest is not None:
                await self._write(
                    state.nodes.status["LastPlanTime"], latest, ua.VariantType.DateTime
                )
            key = signature(shown["intervals"])
            if key != state.shown:
                await self._show(state.nodes, shown)
                state.shown = key
                logger.debug("plant %d: setpoints of %s", plant_id, key)

    def _snapshot(self, plant: PlantRecord, now: dt.datetime) -> tuple[dict[str, Any], Any]:
        """Intervals at ``now`` with each version's flags and spans, and the last plan time."""
        found = covering(self.cache, plant, now, 1)
        intervals = []
        spans = []
        for entry, position in found:
            item = interval(entry, position)
            item["is_incumbent"] = entry.record.is_incumbent
            intervals.append(item)
            spans.append(entry.setpoints)
        # the newest publication: of the latest day, or an intraday re-plan of today's
        newest = [entry for entry, _ in found]
        latest_day = self.cache.latest(plant.id)
        if latest_day is not None:
            newest.append(latest_day)
        latest = max((entry.record.created_at for entry in newest), default=None)
        return {"intervals": intervals, "spans": spans}, latest

    async def _show(self, nodes: PlantNodes, shown: dict[str, Any]) -> None:
        intervals, spans = shown["intervals"], shown["spans"]
        for index, slot in enumerate(SLOTS):
            item = intervals[index] if index < len(intervals) else None
            for _, key, kind in SCHEDULE_FIELDS:
                value = None if item is None else item[key]
                if kind == ua.VariantType.DateTime and value is not None:
                    value = _utc(value)
                await self._write(nodes.schedule[(slot, key)], value, kind, missing=item is None)
            for (node_slot, asset, name), node in nodes.setpoints.items():
                if node_slot != slot:
                    continue
                value = None if item is None else item["setpoints"].get(asset, {}).get(name)
                await self._write(node, value, ua.VariantType.Double, missing=item is None)
                span_node = nodes.ranges.get((slot, asset, name))
                if span_node is not None and item is not None:
                    span = setpoint_span(spans[index], asset, name)
                    await self._write(span_node, span, ua.VariantType.ExtensionObject)

    async def _write(
        self, node: Any, value: Any, kind: ua.VariantType, *, missing: bool = False
    ) -> None:
        assert self._server is not None
        now = dt.datetime.now(dt.UTC)
        if missing:
            data = ua.DataValue(
                StatusCode=ua.StatusCode(ua.StatusCodes.BadNoData), ServerTimestamp=now
            )
        elif value is None:
            await self._write_null(node.nodeid, now)
            return
        else:
            data = ua.DataValue(ua.Variant(value, kind), SourceTimestamp=now, ServerTimestamp=now)
        await self._server.write_attribute_value(node.nodeid, data)

    async def _write_null(self, nodeid: ua.NodeId, now: dt.datetime) -> None:
        """A good null value (a setpoint without a command, e.g. PV without a limit).

        The address space refuses a null write to a typed variable, so the
        value is set on the node and its subscribers told, as a write does.
        """
        assert self._server is not None
        data = ua.DataValue(
            ua.Variant(None, ua.VariantType.Null), SourceTimestamp=now, ServerTimestamp=now
        )
        attribute = self._server.iserver.aspace[nodeid].attributes[ua.AttributeIds.Value]
        attribute.value = data
        for handle, callback in list(attribute.datachange_callbacks.items()):
            await callback(handle, data)

    # ---- measurements -------------------------------------------------------------------

    async def write_measurement(
        self, target: MeasurementTarget, item: ua.WriteValue, user: User
    ) -> ua.StatusCode:
        """Check and store one written reading; Good, or a Bad code and nothing changed."""
        if getattr(user, "api_role", None) not in WRITER_ROLES:
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        data = item.Value
        variant = data.Value
        if variant is None or variant.VariantType != ua.VariantType.Double:
            return ua.StatusCode(ua.StatusCodes.BadTypeMismatch)
        stamp = data.SourceTimestamp
        if stamp is None:
            logger.warning("OPC UA write to %s refused: no source timestamp", target.path)
            return ua.StatusCode(ua.StatusCodes.BadInvalidTimestamp)
        if stamp.tzinfo is None:  # OPC UA times are UTC
            stamp = stamp.replace(tzinfo=dt.UTC)
        reading = Reading(target.asset, target.quantity, float(variant.Value), stamp)
        try:
            await asyncio.to_thread(self._record, target, reading)
        except (MeasurementError, ConflictError, NotFoundError) as exc:
            logger.warning("OPC UA write to %s refused: %s", target.path, exc)
            return write_status(exc)
        assert self._server is not None
        stored = ua.DataValue(
            variant, SourceTimestamp=stamp, ServerTimestamp=dt.datetime.now(dt.UTC)
        )
        await self._server.write_attribute_value(item.NodeId, stored)
        return _GOOD

    def _record(self, target: MeasurementTarget, reading: Reading) -> None:
        plant = self.cache.plant(target.plant_id)
        record_readings(
            self.store,
            plant,
            [reading],
            roots=self.settings.allowed_data_roots,
            base_dir=self.paths.base_dir,
        )

    # ---- re-planning --------------------------------------------------------------------

    async def _request_replan(self, parent: ua.NodeId) -> list[ua.Variant]:
        plant_id = self._methods.get(parent)
        state = None if plant_id is None else self._plants.get(plant_id)
        if state is None:
            return [ua.Variant("unknown plant", ua.VariantType.String)]
        if state.planning:
            return [ua.Variant("a re-plan is running", ua.VariantType.String)]
        state.planning = True
        await self._write(state.nodes.status["PlanningState"], "planning", ua.VariantType.String)
        task = asyncio.create_task(self._replan(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return [ua.Variant("accepted", ua.VariantType.String)]

    async def _replan(self, state: _PlantState) -> None:
        plant_id = state.nodes.plant.id
        now = self.clock().replace(microsecond=0)  # the instant the server shows
        try:
            outcome = await asyncio.to_thread(self.replan, plant_id, now)
            result = outcome.status
        except Exception:
            logger.exception("plant %d: re-plan requested over OPC UA failed", plant_id)
            result = "failed"
        finally:
            state.planning = False
        self.cache.invalidate(plant_id)
        await self._write(state.nodes.status["PlanningState"], result, ua.VariantType.String)
        await self.refresh()

    def _plan_here(self, plant_id: int, now: dt.datetime) -> PlanningOutcome:
        """An intraday re-plan from the measured state, taking over at the next boundary."""
        return replan_intraday(self.store, plant_id, self.paths, now=now)


class ServerThread:
    """A :class:`ControlServer` on its own event loop in a daemon thread."""

    def __init__(self, server: ControlServer) -> None:
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="opcua", daemon=True)

    def start(self, timeout_s: float = 60.0) -> None:
        """Start and wait until the server listens; its start-up error is raised here."""
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise ControlFaceError(f"OPC UA server on {self.server.endpoint} did not start")
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def call(self, make: Callable[[], Any], timeout_s: float = 60.0) -> Any:
        """Run a coroutine (made by ``make``) on the server's loop and return its result."""
        assert self._loop is not None, "start the thread first"
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server and the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=timeout_s)
