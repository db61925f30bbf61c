"""Scenario configuration: YAML documents validated into pydantic models.

A scenario names a site (location, time zone, input series), a plant (a list
of assets, each with a ``type`` and a unique ``name``), tariffs, the period
and time step, and solver options. ``extends: base.yaml`` lets a variant
override a base file (mappings merge key by key, ``plant.assets`` merges by
asset ``name``, other lists are replaced). Relative ``file`` paths are taken
relative to the YAML file that names them.

Every error names the file and the key path, e.g.
``scenarios/x.yaml: plant.assets[3].capacity_kwh: must be > 0``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from energyopt.assets import ASSET_TYPES, AssetParamsUnion
from energyopt.errors import ScenarioError
from energyopt.inputs.timeseries import check_step
from energyopt.inputs.weather import IRRADIANCE, WEATHER_COLUMNS


def check_timezone(value: str) -> str:
    """``value`` if it is a known IANA time zone, else ``ValueError`` naming it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _valid_step(value: str) -> str:
    try:
        check_step(value)
    except ScenarioError as exc:
        raise ValueError(str(exc)) from None
    return value


#: a model time step as text (``15min``, ``1h``): positive and dividing a day
StepText = Annotated[str, AfterValidator(_valid_step)]


class StrictModel(BaseModel):
    """Base of all scenario models: unknown keys are rejected, values frozen, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: largest magnitude of a number in a scenario document: far beyond any real
#: plant, small enough that sums and products of the model stay finite [-]
MAX_MAGNITUDE = 1e15
#: deepest nesting of mappings and lists in a scenario document (real ones: about 6) [-]
MAX_DEPTH = 64


def key_text(key: Any) -> str:
    """A key as messages show it: as it is, or quoted when it holds unprintable characters."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _location(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        name = key_text(part)
        text += f"[{part}]" if isinstance(part, int) else f".{name}" if text else name
    return text


def too_deep(document: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Key path of the first mapping or list nested deeper than ``max_depth``, or None."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            children: Any = ((str(k), v) for k, v in node.items())
        elif isinstance(node, list | tuple):
            children = enumerate(node)
        else:
            continue
        if len(path) >= max_depth:
            return _location(path)
        stack.extend((value, (*path, key)) for key, value in children)
    return None


def bad_number(node: Any, path: tuple[str | int, ...] = ()) -> tuple[str, str] | None:
    """Key path and message of the first number that is not finite or too large, or None."""
    if isinstance(node, Mapping):
        items: Any = ((str(key), value) for key, value in node.items())
    elif isinstance(node, list | tuple):
        items = enumerate(node)
    else:
        huge = isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_MAGNITUDE
        if huge or (isinstance(node, float) and not abs(node) <= MAX_MAGNITUDE):  # NaN too
            where = _location(path) or "value"
            return where, f"{node!r} is not a finite number of magnitude <= {MAX_MAGNITUDE:g}"
        return None
    for key, value in items:
        found = bad_number(value, (*path, key))
        if found is not None:
            return found
    return None


def file_name(value: Path) -> Path:
    """``value`` if the file system can take it as a name (no NUL character)."""
    if "\x00" in str(value):
        raise ValueError("file name contains a NUL character")
    return value


class SeriesSource(StrictModel):
    """One input series read from a CSV file (``timestamp_utc`` + value columns)."""

    file: Path = Field(description="CSV file; relative paths from the YAML file")
    column: str = Field(description="value column, unit in its name")

    @field_validator("file")
    @classmethod
    def _no_nul(cls, value: Path) -> Path:
        return file_name(value)

    resample: Literal["hold", "interpolate"] = Field(
        "hold",
        description="how coarser data is put on a finer model step: 'hold' "
        "repeats an interval value (prices, energies), 'interpolate' draws a "
        "line between points (temperatures)",
    )
    scale: float = Field(1.0, description="factor applied to every value [-]")


class WeatherSource(StrictModel):
    """Weather file with ``temp_air_C``, ``relative_humidity_pct`` and irradiance
    (``ghi_W_m2``, ``dni_W_m2``, ``dhi_W_m2``) or ``cloud_cover_pct``."""

    file: Path
    cloud_cover_overcast_frac: float = Field(
        0.35,
        gt=0,
        le=1,
        description="GHI under full cloud cover as a share of clear-sky GHI, used only "
        "when irradiance is derived from cloud cover [frac]; 0.35 after Larson et al. "
        "(2016); calibrate it for reanalysis cloud cover (see energyopt.inputs.weather)",
    )

    @field_validator("file")
    @classmethod
    def _no_nul(cls, value: Path) -> Path:
        return file_name(value)


class Site(StrictModel):
    """Where the plant stands and which series describe it."""

    name: str
    latitude: float = Field(ge=-90, le=90, description="[deg north]")
    longitude: float = Field(ge=-180, le=180, description="[deg east]")
    altitude_m: float = Field(0.0, ge=-500, le=9000, description="[m above sea]")
    timezone: str = Field(description="IANA zone for day boundaries and display")
    weather: WeatherSource | None = None
    series: dict[str, SeriesSource] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    def series_names(self) -> set[str]:
        """Names an asset may give a series field: the site's series, and weather if it has one."""
        names = set(self.series)
        if self.weather is not None:
            names |= {name for name, _ in WEATHER_COLUMNS.values()} | set(IRRADIANCE)
        return names


class Tariffs(StrictModel):
    """Prices that are not a time series of their own."""

    grid_fee_eur_per_mwh: float = Field(
        0.0, ge=0, description="network fees and levies on every imported MWh"
    )
    demand_charge_eur_per_kw_month: float = Field(
        0.0, ge=0, description="charge on each month's peak import [EUR/kW/month]"
    )
    co2_price_eur_per_t: float = Field(0.0, ge=0, description="[EUR/t CO2]")
    gas_price_eur_per_mwh: float = Field(
        40.0, ge=0, description="natural gas, per MWh of fuel (HHV)"
    )
    export_price_eur_per_mwh: float | None = Field(
        None, description="fixed feed-in price; None pays the day-ahead price"
    )


class Period(StrictModel):
    """Planning period: local calendar days at the site."""

    start: dt.date = Field(description="first day (site's local calendar)")
    days: int = Field(7, gt=0, le=366)
    step: StepText = Field("15min", description="model time step, e.g. 15min or 1h")


class SolverOptions(StrictModel):
    """HiGHS options."""

    time_limit_s: float = Field(60.0, gt=0)
    mip_rel_gap: float = Field(0.005, ge=0, le=1, description="[frac]")
    mip_abs_gap_eur: float | None = Field(
        None,
        ge=0,
        description="also stop when incumbent and bound are this close [EUR]; "
        "keeps windows with a small net cost from chasing a tiny relative gap",
    )
    threads: int | None = Field(None, ge=1)
    mip_feasibility_jump: bool = Field(
        False,
        description="run HiGHS's feasibility-jump heuristic before the root LP (HiGHS's "
        "default: on); off by default here: on plant windows the root LP's rounding finds the "
        "plan and the heuristic only costs time",
    )
    highs_options: dict[str, bool | int | float | str] = Field(
        default_factory=dict,
        description="further HiGHS options by their HiGHS name, applied after the fields "
        "above (https://ergo-code.github.io/HiGHS/stable/options/definitions/)",
    )

    @field_validator("highs_options")
    @classmethod
    def _known_to_highs(cls, value: dict[str, bool | int | float | str]) -> dict:
        from energyopt.inputs.highs_options import check_highs_options  # loads HiGHS

        check_highs_options(value)
        return value


class Plant(StrictModel):
    """The assets of the plant and its neighbourhood."""

    name: str = "plant"
    annual_capacity_gwh: float | None = Field(
        None, gt=0, description="nameplate cell output [GWh cells per year]"
    )
    assets: list[Annotated[AssetParamsUnion, Field(discriminator="type")]]

    @model_validator(mode="after")
    def _unique_names(self) -> Plant:
        seen: set[str] = set()
        for asset in self.assets:
            if asset.name in seen:
                msg = f"asset name {asset.name!r} is used twice"
                raise ValueError(msg)
            seen.add(asset.name)
        return self

    def kinds(self) -> dict[str, str]:
        """Asset name -> kind (``type``)."""
        return {asset.name: asset.type for asset in self.assets}


class Scenario(StrictModel):
    """A complete, runnable case."""

    name: str
    description: str = ""
    site: Site
    plant: Plant
    tariffs: Tariffs = Tariffs()
    period: Period
    solver: SolverOptions = SolverOptions()
    process_limits: Literal["hard", "soft"] = Field(
        "hard",
        description=(
            "hard: a process requirement the plant cannot meet leaves no plan; soft: the "
            "plan misses it at a penalty and names the violation (the service plans soft)"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _finite_numbers(cls, data: Any) -> Any:
        # also the asset parameters, whose models are defined elsewhere
        deep = too_deep(data)
        if deep is not None:
            raise ValueError(f"{deep}: nested deeper than {MAX_DEPTH} levels")
        found = bad_number(data)
        if found is not None:
            raise ValueError(": ".join(found))
        return data

    @model_validator(mode="after")
    def _series_defined(self) -> Scenario:
        # raised as a ValidationError so that its location is the asset's field
        errors = unknown_series(self.site, self.plant)
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


def unknown_series(site: Site, plant: Plant) -> list[InitErrorDetails]:
    """An error per asset field naming a series the site does not define."""
    known = site.series_names()
    listed = ", ".join(sorted(known)) or "none"
    errors = []
    for index, asset in enumerate(plant.assets):
        for field, name in asset.series_references():
            if name not in known:
                problem = PydanticCustomError(
                    "unknown_series",
                    "site series {series} is not defined (site series: {known})",
                    {"series": repr(name), "known": listed},
                )
                loc = ("plant", "assets", index, field)
                errors.append(InitErrorDetails(type=problem, loc=loc, input=name))
    return errors


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file (following ``extends:``) and validate it."""
    path = Path(path)
    document = _read_with_extends(path, seen=())
    return scenario_from_dict(document, source=str(path))


def read_scenario_document(path: str | Path, follow_extends: bool = True) -> dict[str, Any]:
    """A YAML mapping from ``path`` with absolute ``file`` paths: with ``follow_extends``
    a scenario merged over its bases, else the document alone (a study file)."""
    path = Path(path)
    if follow_extends:
        return _read_with_extends(path, seen=())
    document = _read_yaml(path)
    _resolve_files(document, path.parent)
    return document


def scenario_from_dict(document: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario document; errors name ``source`` and the key path."""
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_first_error(exc, document)}") from None


def _read_with_extends(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ScenarioError(f"{path}: extends: circular chain {chain}")
    document = _read_yaml(path)
    _resolve_files(document, path.parent)
    base_name = document.pop("extends", None)
    if base_name is None:
        return document
    if not isinstance(base_name, str):
        raise ScenarioError(f"{path}: extends: must be a file name")
    base = _read_with_extends(path.parent / base_name, (*seen, resolved))
    try:
        return merge_documents(base, document)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}:{where} invalid YAML") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys")
    deep = too_deep(document)
    if deep is not None:
        raise ScenarioError(f"{path}: {deep}: nested deeper than {MAX_DEPTH} levels")
    return document


def _resolve_files(node: Any, base_dir: Path) -> None:
    """Make every relative ``file:`` value absolute, relative to ``base_dir``."""
    if isinstance(node, dict):
        for key, value in node.items():
            relative = (
                isinstance(value, str) and "\x00" not in value and not Path(value).is_absolute()
            )
            if key == "file" and relative:
                node[key] = str((base_dir / value).resolve())
            else:
                _resolve_files(value, base_dir)
    elif isinstance(node, list):
        for item in node:
            _resolve_files(item, base_dir)


def merge_documents(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings key by key, assets by name.

    An asset entry ``{name: x, remove: true}`` drops asset ``x`` of the base;
    naming an asset the base does not have raises :class:`ScenarioError`.
    """
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_documents(merged[key], value)
        elif key == "assets" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = _merge_assets(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_assets(base: list[Any], override: list[Any]) -> list[Any]:
    result = [dict(a) if isinstance(a, dict) else a for a in base]
    by_name = {a.get("name"): i for i, a in enumerate(result) if isinstance(a, dict)}
    removed: set[int] = set()
    for entry in override:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name in by_name:
            index = by_name[name]
            if entry.get("remove"):
                removed.add(index)
            else:
                result[index] = merge_documents(result[index], entry)
        elif isinstance(entry, dict) and entry.get("remove"):
            msg = f"plant.assets: cannot remove asset {name!r}: the base has no asset of that name"
            raise ScenarioError(msg)
        else:
            result.append(entry)
    return [a for i, a in enumerate(result) if i not in removed]


def _first_error(exc: ValidationError, document: dict[str, Any]) -> str:
    error = exc.errors()[0]
    where = format_location(error["loc"])
    name = _asset_name(document, error["loc"])
    if name is not None:
        where = f"{where} (asset {name!r})"
    return f"{where}: {_describe(error)}"


def _asset_name(document: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """Name of the asset an error location points into, if it has one."""
    if len(loc) < 3 or loc[:2] != ("plant", "assets") or not isinstance(loc[2], int):
        return None
    try:
        name = document["plant"]["assets"][loc[2]].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def format_location(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location into ``plant.assets[3].capacity_kwh``."""
    parts: list[str] = []
    previous: Any = None
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif isinstance(previous, int) and item in ASSET_TYPES:
            pass  # discriminator tag pydantic inserts into the path
        else:
            parts.append(key_text(item))
        previous = item
    return ".".join(parts) or "(document)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    comparisons = {
        "greater_than": ("gt", ">"),
        "greater_than_equal": ("ge", ">="),
        "less_than": ("lt", "<"),
        "less_than_equal": ("le", "<="),
    }
    if kind in comparisons:
        key, symbol = comparisons[kind]
        return f"must be {symbol} {ctx[key]:g} (got {error.get('input')!r})"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        known = ", ".join(sorted(ASSET_TYPES))
        return f"unknown asset type {ctx.get('tag')!r}; known types: {known}"
    if kind == "union_tag_not_found":
        return "asset needs a 'type'"
    message = error["msg"]
    return message.removeprefix("Value error, ")
