"""The OPC UA address space of the plants (namespace :data:`NAMESPACE`).

Under ``Objects/Plants`` one object per active plant, named as the plant::

    Plants/<plant>/
        Schedule/Current/  ValidFrom, ValidTo (UTC DateTime), DeliveryDate (String),
        Schedule/Next/     ScheduleVersion (Int32), IsFallback, HasViolations,
                           IsIncumbent (Boolean)
        Status/            PlanningState (String), LastPlanTime (DateTime),
                           Heartbeat (UInt32, +1 every second)
        RequestReplan()    -> Result (String); planner role
        <asset>/Setpoints/Current/<setpoint>   Double, read-only
        <asset>/Setpoints/Next/<setpoint>      Double, read-only
        <asset>/Measurements/<quantity>        Double, writable (planner role)

Node ids are strings of that path (``ns=<NAMESPACE>;s=Plants/pilot/bess/Setpoints/
Current/power_kw``; names outside ``[A-Za-z0-9_.-]`` become ``_`` in ids, browse
names keep them). Setpoints are those of ``GET .../setpoints/current`` (the
control-system convention of :mod:`energyopt.service.control.setpoints`): the
current interval and the next one. A setpoint without a command (PV without
curtailment) is a null value with a good status; an interval no published
schedule covers has null values with status ``BadNoData``.

Every setpoint and measurement variable has the properties
``EngineeringUnits`` (EUInformation, UNECE codes, from the unit in its name)
and ``EURange``: a measurement's accepted range for that asset (what a write is
validated against), a setpoint's span over the schedule version in use
(fractions and on/off: [0, 1]).
"""

# asyncua types its integers, strings and times as NewTypes (UInt32, String, DateTime)
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from asyncua import Node, Server, ua

from energyopt.assets import ASSET_TYPES
from energyopt.inputs.config import Scenario
from energyopt.service.control.intervals import name_segment
from energyopt.service.measurements import quantities_for
from energyopt.service.store import PlantRecord

NAMESPACE = "urn:energyopt:plants"
#: the two setpoint slots: the current interval and the next one
SLOTS = ("Current", "Next")
#: interval fields under Schedule/<slot>: (browse name, interval key, variant type)
SCHEDULE_FIELDS = (
    ("ValidFrom", "valid_from", ua.VariantType.DateTime),
    ("ValidTo", "valid_to", ua.VariantType.DateTime),
    ("DeliveryDate", "delivery_date", ua.VariantType.String),
    ("ScheduleVersion", "schedule_version", ua.VariantType.Int32),
    ("IsFallback", "is_fallback", ua.VariantType.Boolean),
    ("HasViolations", "has_violations", ua.VariantType.Boolean),
    ("IsIncumbent", "is_incumbent", ua.VariantType.Boolean),
)
#: Status variables: (browse name, variant type, initial value)
STATUS_FIELDS = (
    ("PlanningState", ua.VariantType.String, "idle"),
    ("LastPlanTime", ua.VariantType.DateTime, None),
    ("Heartbeat", ua.VariantType.UInt32, 0),
)
UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
#: name suffix -> (UNECE common code, "" if none; display symbol); first match wins
UNITS = (
    ("_kg_per_h", "E93", "kg/h"),
    ("_m2_per_h", "", "m²/h"),
    ("_kwh", "KWH", "kWh"),
    ("_kw", "KWT", "kW"),
    ("_frac", "C62", "1"),
    ("_degc", "CEL", "°C"),
    ("_m2", "MTK", "m²"),
    ("_h", "HUR", "h"),
)
#: names without a unit suffix: counts and on/off states
DIMENSIONLESS = ("C62", "1")
#: setpoints whose range is fixed
FIXED_RANGES = {"is_on": (0.0, 1.0)}


def unit_of(name: str) -> tuple[str, str]:
    """UNECE code and symbol of the unit in a quantity's name (``power_kw`` -> KWT, kW)."""
    for suffix, code, symbol in UNITS:
        if name.endswith(suffix):
            return code, symbol
    return DIMENSIONLESS


def unit_id(code: str) -> int:
    """OPC UA ``UnitId`` of a UNECE common code (its characters packed in bytes); -1 if none."""
    if not code:
        return -1
    value = 0
    for char in code:
        value = (value << 8) | ord(char)
    return value


def eu_information(name: str) -> ua.EUInformation:
    """Engineering units of a quantity named with its unit."""
    code, symbol = unit_of(name)
    return ua.EUInformation(
        NamespaceUri=UNECE_NAMESPACE,
        UnitId=unit_id(code),
        DisplayName=ua.LocalizedText(symbol),
        Description=ua.LocalizedText(code or symbol),
    )


@dataclasses.dataclass(frozen=True)
class MeasurementTarget:
    """What a writable measurement variable stands for."""

    plant_id: int
    asset: str
    quantity: str
    path: str


@dataclasses.dataclass
class PlantNodes:
    """The nodes of one plant the server updates."""

    plant: PlantRecord
    node: Node | None = None
    setpoints: dict[tuple[str, str, str], Node] = dataclasses.field(default_factory=dict)
    ranges: dict[tuple[str, str, str], Node] = dataclasses.field(default_factory=dict)
    schedule: dict[tuple[str, str], Node] = dataclasses.field(default_factory=dict)
    status: dict[str, Node] = dataclasses.field(default_factory=dict)
    measurements: dict[ua.NodeId, MeasurementTarget] = dataclasses.field(default_factory=dict)


class SpaceBuilder:
    """Adds plants to a server's address space (see the module docstring)."""

    def __init__(self, server: Server, namespace_index: int, plants_folder: Node) -> None:
        self.server = server
        self.ns = namespace_index
        self.folder = plants_folder

    def _id(self, *parts: str) -> ua.NodeId:
        return ua.NodeId("/".join(parts), self.ns)

    async def _object(self, parent: Node, path: tuple[str, ...], name: str) -> Node:
        return await parent.add_object(self._id(*path), ua.QualifiedName(name, self.ns))

    async def _variable(
        self, parent: Node, path: tuple[str, ...], name: str, value: Any, kind: ua.VariantType
    ) -> Node:
        """A variable of data type ``kind`` (null until written when ``value`` is None)."""
        variant = ua.Variant(value, kind if value is not None else ua.VariantType.Null)
        return await parent.add_variable(
            self._id(*path),
            ua.QualifiedName(name, self.ns),
            variant,
            datatype=ua.NodeId(kind.value),
        )

    async def _analog(
        self, parent: Node, path: tuple[str, ...], name: str, low: float, high: float
    ) -> tuple[Node, Node]:
        """A Double variable with EngineeringUnits and EURange; returns it and its range."""
        node = await self._variable(parent, path, name, None, ua.VariantType.Double)
        await node.add_property(
            self._id(*path, "EngineeringUnits"),
            ua.QualifiedName("EngineeringUnits", 0),
            eu_information(name),
            datatype=ua.NodeId(ua.ObjectIds.EUInformation),
        )
        span = await node.add_property(
            self._id(*path, "EURange"),
            ua.QualifiedName("EURange", 0),
            ua.Range(Low=low, High=high),
            datatype=ua.NodeId(ua.ObjectIds.Range),
        )
        return node, span

    async def add_plant(self, plant: PlantRecord, scenario: Scenario) -> PlantNodes:
        """The plant's object with its schedule, status, setpoint and measurement nodes."""
        nodes = PlantNodes(plant)
        root = ("Plants", name_segment(plant.name))
        plant_object = await self._object(self.folder, root, plant.name)
        nodes.node = plant_object
        await self._add_schedule(plant_object, root, nodes)
        await self._add_status(plant_object, root, nodes)
        for asset in scenario.plant.assets:
            await self._add_asset(plant_object, root, asset, nodes)
        return nodes

    async def add_method(self, nodes: PlantNodes, name: str, callback: Any) -> Node:
        """A method of the plant object without inputs and one String output."""
        assert nodes.node is not None
        path = ("Plants", name_segment(nodes.plant.name), name)
        return await nodes.node.add_method(
            self._id(*path), ua.QualifiedName(name, self.ns), callback, [], [ua.VariantType.String]
        )

    async def _add_schedule(self, parent: Node, root: tuple[str, ...], nodes: PlantNodes) -> None:
        schedule = await self._object(parent, (*root, "Schedule"), "Schedule")
        for slot in SLOTS:
            slot_object = await self._object(schedule, (*root, "Schedule", slot), slot)
            for name, key, kind in SCHEDULE_FIELDS:
                path = (*root, "Schedule", slot, name)
                nodes.schedule[(slot, key)] = await self._variable(
                    slot_object, path, name, None, kind
                )

    async def _add_status(self, parent: Node, root: tuple[str, ...], nodes: PlantNodes) -> None:
        status = await self._object(parent, (*root, "Status"), "Status")
        for name, kind, initial in STATUS_FIELDS:
            path = (*root, "Status", name)
            nodes.status[name] = await self._variable(status, path, name, initial, kind)

    async def _add_asset(
        self, parent: Node, root: tuple[str, ...], asset: Any, nodes: PlantNodes
    ) -> None:
        kind = ASSET_TYPES.get(asset.type)
        rules = kind.setpoints if kind is not None else {}
        base = (*root, name_segment(asset.name))
        asset_object = await self._object(parent, base, asset.name)
        if rules:
            await self._add_setpoints(asset_object, base, asset.name, sorted(rules), nodes)
        folder = await self._object(asset_object, (*base, "Measurements"), "Measurements")
        for quantity, spec in sorted(quantities_for(asset.type).items()):
            low, high = spec.bounds(asset)
            path = (*base, "Measurements", quantity)
            node, _ = await self._analog(folder, path, quantity, low, high)
            await node.set_writable(True)
            target = MeasurementTarget(nodes.plant.id, asset.name, quantity, "/".join(path))
            nodes.measurements[node.nodeid] = target

    async def _add_setpoints(
        self,
        parent: Node,
        base: tuple[str, ...],
        asset: str,
        names: Sequence[str],
        nodes: PlantNodes,
    ) -> None:
        folder = await self._object(parent, (*base, "Setpoints"), "Setpoints")
        for slot in SLOTS:
            slot_object = await self._object(folder, (*base, "Setpoints", slot), slot)
            for name in names:
                path = (*base, "Setpoints", slot, name)
                low, high = FIXED_RANGES.get(name, (0.0, 1.0) if name.endswith("_frac") else (0, 0))
                node, span = await self._analog(slot_object, path, name, low, high)
                nodes.setpoints[(slot, asset, name)] = node
                if name not in FIXED_RANGES and not name.endswith("_frac"):
                    nodes.ranges[(slot, asset, name)] = span


def setpoint_span(rows: Sequence[Mapping[str, Any]], asset: str, name: str) -> ua.Range:
    """Lowest and highest value of a setpoint over a version's intervals (0, 0 if none)."""
    values = [
        row[asset][name]
        for row in rows
        if asset in row and isinstance(row[asset].get(name), int | float)
    ]
    finite = [v for v in values if math.isfinite(v)]
    return ua.Range(Low=min(finite, default=0.0), High=max(finite, default=0.0))
