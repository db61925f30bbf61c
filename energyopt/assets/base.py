"""The asset contract every asset module follows.

An asset module defines a pydantic ``Params`` model (units in every field
name, ``type`` literal, unique ``name``) and an :class:`Asset` subclass with

* ``build(b, ctx) -> AssetTerms``: adds variables and constraints to the
  Pyomo block ``b`` over the model time set ``b.model().T`` and returns, per
  carrier it touches, its net injection into that carrier's balance [kW]
  (positive supplies the plant, a load injects a negative amount), its costs
  by category [EUR] and its emissions [kg CO2];
* ``extract(b, ctx) -> DataFrame``: its columns of the dispatch table
  (time stamps as index, units in column names, no asset prefix);
* ``final_state(b, ctx, steps) -> dict``: for anything with memory, the state
  after the first ``steps`` intervals, handed to the next window as
  ``ctx.state[name]``;
* ``capacities``: the ratings a sizing run may choose, with their cost
  defaults; the block takes them through :meth:`Asset.capacity` and
  :meth:`Asset.limited_var` (fixed values, or variables in a sizing build,
  see ``assets/sizing.py``).

Everything that changes between windows (prices, weather-driven limits,
initial states) is declared through :meth:`Asset.series_param` and
:meth:`Asset.scalar_param`: mutable Pyomo parameters whose values come from a
function of the context, so :meth:`Asset.refresh` can re-fill them for the
next window without rebuilding the model.

Cost categories (keys of ``AssetTerms.costs_eur``): ``energy`` (grid
energy incl. fees), ``demand_charge``, ``fuel``, ``degradation``,
``exchange`` (bought from neighbours), ``imbalance`` (an intraday re-plan's
deviations from the grid position bought day-ahead, priced at the imbalance
price over the day-ahead price, ``assets/grid.py``), ``violation`` (penalties on process
requirements a soft plan misses, added by the model), ``revenue`` (negative:
money earned).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, get_args

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import BaseModel, ConfigDict, Field, field_validator

from energyopt.assets.declarations import FuelRates, QuantitySpec, SetpointRule
from energyopt.assets.requirements import Requirement, shortfall_var
from energyopt.assets.sizing import (
    CapacityDeclaration,
    CapacityDefaults,
    Extendable,
    SizedCapacity,
    add_capacity_var,
    check_extendable,
)
from energyopt.errors import ModelBuildError
from energyopt.inputs.timeseries import index_step
from energyopt.model.evaluation import cached_values

if TYPE_CHECKING:
    from energyopt.inputs.config import Site, Tariffs

CARRIERS = ("electricity", "heat_ht", "heat_lt", "cooling")


def flow_unit(carrier: str) -> str:
    """Unit suffix of a carrier's flows: ``kw`` for energy, ``kg_per_h`` for materials."""
    return "kw" if carrier in CARRIERS else "kg_per_h"


#: nominal temperature range (low, high) of the heat carriers [degC]: process heat
#: for oven air and desiccant regeneration, low-temperature heat for space and
#: district heat (plant reference, recommended heat levels; oven air 80-180 degC,
#: regeneration 140-180 degC)
CARRIER_TEMPERATURES_DEGC: dict[str, tuple[float, float]] = {
    "heat_ht": (120.0, 180.0),
    "heat_lt": (40.0, 90.0),
}
COST_CATEGORIES = (
    "energy",
    "demand_charge",
    "fuel",
    "degradation",
    "exchange",
    "imbalance",
    "violation",
    "revenue",
)


class AssetParams(BaseModel):
    """Fields every asset has. Subclasses add ``type: Literal[...]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", description="unique asset name")
    extendable: dict[str, Extendable] = Field(
        default_factory=dict,
        description="capacities a sizing run chooses (see energyopt.assets.sizing), by the "
        "name of their parameter; only the kind's declared capacities",
    )

    if TYPE_CHECKING:
        # every kind declares ``type: Literal["<kind>"]``, its discriminator
        type: str

    @field_validator("extendable")
    @classmethod
    def _sizable(cls, value: dict[str, Extendable]) -> dict[str, Extendable]:
        kind = get_args(cls.model_fields["type"].annotation)[0]
        check_extendable(kind, ASSET_TYPES[kind].capacities, list(value))
        return value

    def series_references(self) -> list[tuple[str, str]]:
        """``(field, series name)`` of every set parameter declared with :func:`series_field`."""
        return series_references(self)


@dataclasses.dataclass(frozen=True)
class BuildContext:
    """Everything an asset may read while building or refreshing its block.

    Attributes
    ----------
    index : DatetimeIndex
        Window time stamps (UTC, interval starts, fixed freq).
    series : DataFrame
        Input series on ``index``: weather columns and the site's named series.
    site, tariffs :
        Scenario sections.
    state : mapping
        Initial state per asset name (what the previous window handed over):
        JSON-able values (numbers, lists, dicts), keyed by what the asset's
        ``final_state`` returned.
    demand_charge_month_weight : mapping
        Share of each billing month (``YYYY-MM``) that the run charges [0-1].
    peak_floor_kw : mapping
        Expected peak import per grid asset and billing month
        (``{asset: {"YYYY-MM": kW}}``): a planning window's rise of the peak
        up to it costs only ``peak_below_share`` of the demand charge (the
        unseen rest of the month would most likely pay it anyway).
    peak_below_share : mapping
        That share per billing month [0-1]; 1 (the default, and in replays
        and single solves) prices every rise at the bill's full rate.
    open_end : bool
        The window ends before the planned period does (a rolling window
        with more to come): stores end it at least at the level they
        started with, less the standing loss of idling, instead of at the
        period's terminal level (see ``assets/_storage.py``).
    soft_limits : bool
        Process requirements may be missed at a penalty, and each miss is
        named in the plan (see ``assets/requirements.py``); False: they are
        hard constraints.
    free_end : bool
        The model is one part of a longer period solved part by part (a
        replay or baseline month, :mod:`energyopt.engine.chunked`), and the
        next part starts from the state this one hands over: the assets'
        end-of-window conditions (terminal store levels, a dry room or
        aging room back at its set point) do not apply.
    grid_position_kw : mapping
        Per grid asset, the net import bought day-ahead for each interval of
        the window [kW] (NaN where nothing was bought: the interval is free).
        Given by an intraday re-plan; a grid with a position prices its
        deviations from it at the imbalance price (``assets/grid.py``).
    sizing : bool
        The assets' extendable capacities are decisions (a sizing run, see
        ``assets/sizing.py``); False: every capacity is its fixed value.
    """

    index: pd.DatetimeIndex
    series: pd.DataFrame
    site: Site
    tariffs: Tariffs
    state: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    demand_charge_month_weight: Mapping[str, float] = dataclasses.field(default_factory=dict)
    peak_floor_kw: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    peak_below_share: Mapping[str, float] = dataclasses.field(default_factory=dict)
    open_end: bool = False
    soft_limits: bool = False
    free_end: bool = False
    grid_position_kw: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    sizing: bool = False

    @property
    def n_steps(self) -> int:
        """Number of intervals in the window."""
        return len(self.index)

    @property
    def dt_h(self) -> float:
        """Interval length [h]."""
        return index_step(self.index) / pd.Timedelta("1h")

    def column(self, name: str, asset: str) -> np.ndarray:
        """Values of input series ``name`` for the window, as floats."""
        if name not in self.series.columns:
            known = ", ".join(sorted(self.series.columns)) or "none"
            msg = f"asset {asset!r}: input series {name!r} is not defined (site series: {known})"
            raise ModelBuildError(msg)
        return self.series[name].to_numpy(dtype=float)

    def profile(
        self,
        asset: str,
        constant: float | None,
        series: str | None,
        scale: float = 1.0,
        what: str = "value",
    ) -> np.ndarray:
        """A non-negative profile: ``constant`` or site series ``series`` times ``scale``.

        Raises
        ------
        ModelBuildError
            If the scaled series is negative anywhere (names asset, series, time).
        """
        if series is None:
            return np.full(self.n_steps, float(constant or 0.0))
        profile = self.column(series, asset) * scale
        if (profile < 0).any():
            bad = self.index[profile < 0][0]
            msg = f"asset {asset!r}: negative {what} in {series!r} at {bad.isoformat()}"
            raise ModelBuildError(msg)
        return profile

    def initial(self, asset: str, key: str, default: float) -> float:
        """Initial state value ``key`` of ``asset`` (the default if none carried)."""
        return float(self.state.get(asset, {}).get(key, default))

    def local_index(self) -> pd.DatetimeIndex:
        """Window time stamps in the site's time zone."""
        return self.index.tz_convert(self.site.timezone)


@dataclasses.dataclass
class AssetTerms:
    """What an asset contributes to the plant model.

    ``injections[carrier]`` is indexable by time position and gives kW into
    that carrier's balance; ``costs_eur[category]`` and ``co2_kg`` are Pyomo
    expressions (or numbers) over the window.
    """

    injections: dict[str, Any]
    costs_eur: dict[str, Any] = dataclasses.field(default_factory=dict)
    co2_kg: Any = 0.0


ValueFn = Callable[[BuildContext], Any]


class Asset:
    """Base of all asset kinds; one instance per asset per model."""

    kind: ClassVar[str]
    Params: ClassVar[type[AssetParams]]
    #: process group for per-process KPIs (dry_room, ovens, formation, aging, other);
    #: a ``process`` field in the params overrides it
    process: str = "other"
    #: section of the kind in chart legends: supply, neighbours, conversion, storage,
    #: process or load
    legend_section: ClassVar[str] = "conversion"
    #: dispatch column with the final energy this asset brings across the plant
    #: boundary [kW] (grid import, PV output, boiler fuel, bought heat); None if none.
    #: Its draws from carriers then count as exports, not as conversion inputs.
    boundary_column: str | None = None
    # ---- what the kind declares about itself (see ``assets/declarations.py``) ------
    #: commands a control system receives: setpoint name -> rule on the dispatch columns
    setpoints: ClassVar[Mapping[str, SetpointRule]] = {}
    #: quantities a control system may report, with their range and the state they set
    quantities: ClassVar[Mapping[str, QuantitySpec]] = {}
    #: True if the asset hands state from one plan to the next
    carries_state: ClassVar[bool] = False
    #: rank among the converters of a carrier in the baseline (0 runs first)
    baseline_rank: ClassVar[int] = 1
    #: prefix of this generator's KPIs (``<prefix>_generation_kwh``,
    #: ``<prefix>_self_consumption_frac``), read from ``generation_column``; None: none
    generation_kpi: ClassVar[str | None] = None
    generation_column: ClassVar[str] = "power_kw"
    #: public-grid connections: dispatch columns of power bought and sold [kW]
    import_column: ClassVar[str | None] = None
    export_column: ClassVar[str | None] = None
    #: False where the setpoints are for monitoring or are limits rather than
    #: commands the asset runs at (the grid balances, generators follow the weather)
    setpoints_are_commands: ClassVar[bool] = True

    @classmethod
    def follows_plan(cls) -> bool:
        """True if a plant that follows its plan runs this asset at its setpoints."""
        return bool(cls.setpoints) and cls.setpoints_are_commands

    def fuel_rates(self, tariffs: Tariffs) -> FuelRates | None:
        """Price and CO2 of the fuel in ``boundary_column`` bought at the site boundary,
        metered as the quantity of that name; None (the default) for assets that buy none."""
        return None

    #: capacities a sizing run may choose: parameter name -> their cost defaults
    #: (or a function of the params giving them); see ``assets/sizing.py``
    capacities: ClassVar[Mapping[str, CapacityDeclaration]] = {}

    def __init__(self, params: AssetParams) -> None:
        self.params = params
        self.name = params.name
        self.process = getattr(params, "process", None) or type(self).process
        self._sources: dict[str, tuple[ValueFn, str]] = {}
        #: the process requirements built soft (see ``assets/requirements.py``)
        self.requirements: list[Requirement] = []
        #: the capacities built as decisions, by parameter name (sizing builds only)
        self.sized: dict[str, SizedCapacity] = {}

    # ---- the contract -------------------------------------------------------------

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        """Add variables and constraints; return injections, costs and CO2."""
        raise NotImplementedError

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Dispatch-table columns of this asset (no asset prefix)."""
        raise NotImplementedError

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, float]:
        """State after the first ``steps`` intervals (default: no memory)."""
        return {}

    def end_conditions(self, b: pyo.Block, ctx: BuildContext) -> dict[str, float]:
        """State entries that make a later window ending at the same instant keep
        this window's end-of-window conditions (an intraday re-plan of the same
        look-ahead). Default: none (conditions that do not depend on the start)."""
        return {}

    def structure_key(self, ctx: BuildContext) -> Hashable:
        """What the block's *structure* depends on besides the window length.

        :meth:`~energyopt.model.PlantSession.update` re-fills mutable parameters
        only; when this key differs between the built window and a new one
        (e.g. a different number of batches), the model must be rebuilt.
        """
        return None

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext) -> Any:
        """Fix this asset's flexible decisions to rule-based operation.

        Used by the baseline (``energyopt/engine/baseline.py``): what the plant does
        without optimisation. Default: nothing to fix (no flexibility).
        May return a Pyomo expression [EUR] that the baseline adds to its
        objective, for a rule that fixing cannot express (e.g. PV is curtailed
        only where the grid cannot take it); None otherwise.
        """

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """Decisions a committed plan tells this asset to follow.

        Maps dispatch columns (this asset's, no prefix) to the block's
        variables over time that hold them. When a committed plan is replayed
        on actual inputs (``energyopt/engine/rolling.py``), these variables follow
        their planned values and deviate only where actual conditions require
        it; everything else balances freely. Default: every dispatch column
        that is also a variable over time of the block. Assets that balance
        (grid, PV following the weather) return ``{}``.
        """
        T = b.model().T
        found = {}
        for column in columns:
            component = b.component(column)
            if isinstance(component, pyo.Var) and component.index_set() is T:
                found[column] = column
        return found

    def kpis(self, dispatch: pd.DataFrame, ctx: BuildContext) -> dict[str, float]:
        """Asset-specific KPIs from its own dispatch columns (default: none)."""
        return {}

    def prechecks(self, ctx: BuildContext) -> tuple[str, ...]:
        """Requirements of the window this asset cannot meet, found before the solve,
        each in plant terms with both numbers (soft mode; hard mode raises instead).
        Default: none."""
        return ()

    # ---- capacities: fixed values, or decisions in a sizing build -------------------

    def capacity_defaults(self, key: str) -> CapacityDefaults:
        """The kind's cost defaults of capacity ``key`` for these parameters."""
        declared = type(self).capacities[key]
        return declared if isinstance(declared, CapacityDefaults) else declared(self.params)

    def is_sized(self, ctx: BuildContext, key: str) -> bool:
        """True if capacity ``key`` is a decision in this build."""
        return ctx.sizing and key in self.params.extendable

    def capacity(self, b: pyo.Block, ctx: BuildContext, key: str) -> Any:
        """Capacity ``key``: its fixed value (parameter ``key``), or in a sizing build of
        an extendable one the variable ``b.<key>`` (made on the first call)."""
        if not self.is_sized(ctx, key):
            return getattr(self.params, key)
        if key not in self.sized:
            option = self.params.extendable[key]
            defaults = self.capacity_defaults(key)
            var = add_capacity_var(b, key, option, defaults.integer)
            cost = option.costs(defaults)
            self.sized[key] = SizedCapacity(self.name, key, defaults.unit, var, option, cost)
        return self.sized[key].var

    def capacity_upper(self, ctx: BuildContext, key: str) -> float:
        """Largest value capacity ``key`` can take in this build: the fixed value, or
        an extendable one's ``max`` (the big-M where it multiplies a binary)."""
        if self.is_sized(ctx, key):
            return self.params.extendable[key].max
        return float(getattr(self.params, key))

    def capacity_value(self, key: str) -> float:
        """Capacity ``key`` of the solved plan: the chosen one if sized, else fixed."""
        if key in self.sized:
            return float(pyo.value(self.sized[key].var))
        return float(getattr(self.params, key))

    def limited_var(self, b: pyo.Block, name: str, ctx: BuildContext, key: str) -> pyo.Var:
        """A flow over time on ``b``, ``0 <= <name>[t] <= capacity key`` [kW].

        A fixed capacity is the variable's bound; a sized one bounds it at its
        ``max`` and adds the row ``<name>_capacity`` (the chosen capacity).
        """
        T = b.model().T
        var = pyo.Var(T, bounds=(0, self.capacity_upper(ctx, key)))
        b.add_component(name, var)
        if self.is_sized(ctx, key):
            cap = self.capacity(b, ctx, key)
            b.add_component(f"{name}_capacity", pyo.Constraint(T, rule=lambda b, t: var[t] <= cap))
        return var

    # ---- soft process requirements --------------------------------------------------

    def shortfall(
        self, b: pyo.Block, ctx: BuildContext, requirement: Requirement, var: Any = None
    ) -> Any:
        """Shortfall of a process requirement: its variable when ``ctx.soft_limits``,
        else zeros (the requirement is hard).

        ``requirement`` is given with ``shortfall=None``; in soft mode the variable
        (``var``, an existing non-negative one indexed like the spans, or a new one
        added to ``b`` as ``shortfall_<n>``) is recorded with it for the objective
        and for the plan's list of violations.
        """
        if not ctx.soft_limits:
            return dict.fromkeys(range(len(requirement.spans)), 0.0)
        if var is None:
            var = shortfall_var(requirement.spans)
            b.add_component(f"shortfall_{len(self.requirements)}", var)
        self.requirements.append(dataclasses.replace(requirement, shortfall=var))
        return var

    def soft_band(
        self, b: pyo.Block, ctx: BuildContext, level: Any, bounds: tuple, requirement: Requirement
    ) -> None:
        """Keep ``level[t]`` within ``bounds`` (low, high: numbers or parameters over
        time; None: no limit that side) up to priced shortfalls on either side.

        Adds the rows ``<level>_low`` and ``<level>_high`` to ``b``; in hard mode
        they are plain limits (the shortfalls are zeros).
        """
        T = b.model().T
        for side, limit, sign in (("low", bounds[0], 1.0), ("high", bounds[1], -1.0)):
            if limit is None:
                continue
            short = self.shortfall(b, ctx, requirement)
            row = pyo.Constraint(
                T,
                rule=lambda b, t, short=short, limit=limit, sign=sign: (
                    sign * (level[t] + sign * short[t] - _at(limit, t)) >= 0
                ),
            )
            b.add_component(f"{level.local_name}_{side}", row)

    # ---- mutable parameters -------------------------------------------------------

    def series_param(self, b: pyo.Block, name: str, ctx: BuildContext, fn: ValueFn) -> pyo.Param:
        """A mutable parameter over time whose values are ``fn(ctx)`` (array of n)."""
        values = self._series_values(name, ctx, fn)
        param = pyo.Param(b.model().T, mutable=True, default=0.0)
        b.add_component(name, param)
        # finite values on the full index (checked above): filled without Pyomo's
        # per-element validation, about five times faster than ``initialize=``
        param.store_values(dict(enumerate(values.tolist())), check=False)
        self._sources[name] = (fn, "series")
        return param

    def scalar_param(self, b: pyo.Block, name: str, ctx: BuildContext, fn: ValueFn) -> pyo.Param:
        """A mutable scalar parameter whose value is ``fn(ctx)``."""
        param = pyo.Param(mutable=True, initialize=float(fn(ctx)))
        b.add_component(name, param)
        self._sources[name] = (fn, "scalar")
        return param

    def table_param(
        self, b: pyo.Block, name: str, index: Any, ctx: BuildContext, fn: ValueFn
    ) -> pyo.Param:
        """A mutable parameter over any index set; ``fn(ctx)`` returns a dict."""
        param = pyo.Param(index, mutable=True, initialize=dict(fn(ctx)))
        b.add_component(name, param)
        self._sources[name] = (fn, "table")
        return param

    def refresh(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Re-fill every mutable parameter from a new context (same window length)."""
        for name, (fn, shape) in self._sources.items():
            param = b.component(name)
            # same index as built (the structure did not change) and finite values
            # (checked by _series_values): Pyomo's per-element checks are skipped
            if shape == "series":
                values = self._series_values(name, ctx, fn)
                param.store_values(dict(enumerate(values.tolist())), check=False)
            elif shape == "table":
                param.store_values(dict(fn(ctx)))
            else:
                param.set_value(float(fn(ctx)))

    def _series_values(self, name: str, ctx: BuildContext, fn: ValueFn) -> np.ndarray:
        values = np.broadcast_to(np.asarray(fn(ctx), dtype=float), (ctx.n_steps,))
        if not np.all(np.isfinite(values)):
            bad = ctx.index[~np.isfinite(values)][0]
            msg = f"asset {self.name!r}: {name} is not finite at {bad.isoformat()}"
            raise ModelBuildError(msg)
        return values


def _at(limit: Any, t: int) -> Any:
    """A limit at interval ``t``: a number, or a parameter over time."""
    return limit[t] if hasattr(limit, "__getitem__") else limit


ASSET_TYPES: dict[str, type[Asset]] = {}


def register(cls: type[Asset]) -> type[Asset]:
    """Class decorator: make an asset kind known by its ``kind`` string."""
    if cls.kind in ASSET_TYPES:
        raise ValueError(f"asset kind {cls.kind!r} registered twice")
    ASSET_TYPES[cls.kind] = cls
    return cls


def values(component: Any, n_steps: int) -> np.ndarray:
    """Solved values of an indexed Pyomo component or expression mapping.

    Expressions go through the linear-form cache of :mod:`energyopt.model.evaluation`
    when one is active (a model read after every rolling window).
    """
    if isinstance(component, pyo.Var | pyo.Param) and component.is_indexed():
        if len(component) == n_steps and component.index_set().isordered():
            found = [data.value for data in component.values()]  # in index order
        else:
            found = [component[t].value for t in range(n_steps)]
        return np.array([np.nan if v is None else v for v in found], dtype=float)
    cached = cached_values(component, n_steps)
    if cached is not None:
        return cached
    return np.array([pyo.value(component[t]) for t in range(n_steps)], dtype=float)


#: ``json_schema_extra`` flag of a parameter whose value names a site series
SITE_SERIES = "site_series"


def series_field(default: str | None = None, *, description: str) -> Any:
    """Pydantic field naming a site series: scenario validation checks the site defines it."""
    return Field(default, description=description, json_schema_extra={SITE_SERIES: True})


def series_references(params: BaseModel) -> list[tuple[str, str]]:
    """``(field, series name)`` of every parameter declared with :func:`series_field` and set."""
    found = []
    for name, info in type(params).model_fields.items():
        extra = info.json_schema_extra
        value = getattr(params, name)
        if isinstance(extra, dict) and extra.get(SITE_SERIES) and value is not None:
            found.append((name, value))
    return found


def carrier_field(default: str = "electricity"):
    """Pydantic field for a carrier name (energy carriers or a material, kg)."""
    return Field(default, description=f"carrier: one of {', '.join(CARRIERS)} or a material")
