"""Study files: a plant at several sites, in several variants, over a period.

A study file (YAML, in ``scenarios/studies/``)::

    name: six-sites
    sites:                       # site scenarios, relative to this file
      skelleftea-se1: ../sites/skelleftea-se1.yaml
      salzgitter-de: ../sites/salzgitter-de.yaml
    variants:                    # overrides merged into every site's scenario
      as-is: {}
      pv-40mw: {plant: {assets: [{name: pv, peak_power_kwp: 40000}]}}
      no-steelworks: {plant: {assets: [{name: steelworks_heat, remove: true}]}}
    period: {start: 2023-01-01, end: 2023-12-31}   # local days, both included
    step: 1h
    modes: [rolling, baseline]   # rolling, perfect, baseline: run together per case
    forecast: perfect            # the rolling mode's forecasts: perfect, persistence, noisy
    mip_rel_gap: 0.001           # every case's solver gap (default 0.001)
    cases: cross                 # every site x every variant, or a list (below)

``cases`` may instead list ``{site, variant}`` pairs, each optionally with its own
``modes`` and ``forecast``. Variants merge like ``extends:`` (mappings key by
key, ``plant.assets`` by asset name, ``{name: x, remove: true}`` drops an
asset, other lists are replaced); a key set to ``null`` in a variant or site
file clears the inherited value (a site without a CO2 series sets
``co2_series: null`` under its tariffs), so the field takes its default.

Every case is resolved and validated when the study is loaded: an error names
the study file, the case (``site/variant``) and the key path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from energyopt.errors import ScenarioError
from energyopt.inputs.config import (
    Scenario,
    StepText,
    StrictModel,
    format_location,
    merge_documents,
    read_scenario_document,
    scenario_from_dict,
)

#: solver gap of study runs unless a scenario sets its own [frac]: fine enough to rank
#: sites whose annual costs differ by a few per mille
STUDY_MIP_REL_GAP = 0.001

#: the modes of energyopt.engine.rolling.MODES and the forecast kinds of
#: energyopt.engine.forecast.FORECAST_KINDS, as types (a test keeps them equal)
Mode = Literal["rolling", "perfect", "baseline"]
#: a study's modes unless it names its own
DEFAULT_MODES: tuple[Mode, ...] = ("rolling", "baseline")
Forecast = Literal["perfect", "persistence", "noisy"]


def _as_is() -> dict[str, dict[str, Any]]:
    """The one variant of a study that names none: the site scenarios as they are."""
    return {"as-is": {}}


class StudyPeriod(StrictModel):
    """Local calendar days of every case, both included."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> StudyPeriod:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.end - self.start).days > 365:
            raise ValueError("a study period is at most 366 days")
        return self


class CaseEntry(StrictModel):
    """One explicitly listed case."""

    site: str
    variant: str = "as-is"
    modes: list[Mode] | None = Field(None, min_length=1)
    forecast: Forecast | None = None


class StudyFile(StrictModel):
    """The study document."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    sites: dict[str, str] = Field(min_length=1, description="site name -> scenario file")
    variants: dict[str, dict[str, Any]] = Field(default_factory=_as_is)
    period: StudyPeriod
    step: StepText = "1h"
    modes: list[Mode] = Field(default_factory=lambda: list(DEFAULT_MODES), min_length=1)
    forecast: Forecast = "perfect"
    mip_rel_gap: float = Field(STUDY_MIP_REL_GAP, ge=0, le=1, description="[frac]")
    cases: Literal["cross"] | list[CaseEntry] = "cross"

    @model_validator(mode="after")
    def _names(self) -> StudyFile:
        for kind, names in (("site", self.sites), ("variant", self.variants)):
            for name in names:
                if not name or "/" in name or len(name) > 100:
                    raise ValueError(f"{kind} name {name!r}: 1-100 characters, no '/'")
        if isinstance(self.cases, list):
            for i, entry in enumerate(self.cases):
                for kind, name, known in (
                    ("site", entry.site, self.sites),
                    ("variant", entry.variant, self.variants),
                ):
                    if name not in known:
                        listed = ", ".join(sorted(known))
                        raise ValueError(f"cases[{i}]: unknown {kind} {name!r} ({listed})")
        return self


@dataclasses.dataclass(frozen=True)
class Case:
    """One site in one variant, ready to run: the resolved scenario document."""

    site: str
    variant: str
    modes: tuple[str, ...]
    forecast: str
    start: dt.date
    end: dt.date
    step: str
    document: dict[str, Any]
    scenario: Scenario

    @property
    def name(self) -> str:
        """``site/variant``."""
        return f"{self.site}/{self.variant}"


@dataclasses.dataclass(frozen=True)
class Study:
    """A loaded study: its file, where it came from and its cases."""

    spec: StudyFile
    source: Path
    cases: tuple[Case, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def load_study(path: str | Path) -> Study:
    """Read a study file, resolve and validate every case.

    Raises
    ------
    ScenarioError
        Naming the study file and, for a case, ``site/variant`` and the key path.
    """
    path = Path(path)
    document = read_scenario_document(path, follow_extends=False)
    return study_from_dict(document, path)


def study_from_dict(document: dict[str, Any], source: Path) -> Study:
    """Validate a study document whose relative site paths are relative to ``source``."""
    try:
        spec = StudyFile.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = format_location(error["loc"]) if error["loc"] else ""
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            listed = ", ".join(StudyFile.model_fields)
            msg = f"unknown key (valid keys: {listed})"
        raise ScenarioError(f"{source}: {where + ': ' if where else ''}{msg}") from None
    bases = {
        site: read_scenario_document(_site_path(source, file), follow_extends=True)
        for site, file in spec.sites.items()
    }
    entries = (
        [CaseEntry(site=s, variant=v) for s in spec.sites for v in spec.variants]
        if spec.cases == "cross"
        else spec.cases
    )
    cases = tuple(_case(spec, source, bases[e.site], e) for e in entries)
    names = [c.name for c in cases]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ScenarioError(f"{source}: cases: listed twice: {', '.join(doubled)}")
    return Study(spec, source, cases)


def _site_path(source: Path, file: str) -> Path:
    path = Path(file)
    return path if path.is_absolute() else source.parent / path


def _case(spec: StudyFile, source: Path, base: dict[str, Any], entry: CaseEntry) -> Case:
    name = f"{entry.site}/{entry.variant}"
    try:
        document = merge_documents(base, spec.variants[entry.variant])
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: case {name}: {exc}") from None
    document = _with_study_options(document, spec)
    scenario = scenario_from_dict(document, f"{source}: case {name}")
    return Case(
        site=entry.site,
        variant=entry.variant,
        modes=tuple(entry.modes or spec.modes),
        forecast=entry.forecast or spec.forecast,
        start=spec.period.start,
        end=spec.period.end,
        step=spec.step,
        document=document,
        scenario=scenario,
    )


def _with_study_options(document: dict[str, Any], spec: StudyFile) -> dict[str, Any]:
    """The study's period, step and solver gap on a case's scenario."""
    out = dict(document)
    out["solver"] = {**(out.get("solver") or {}), "mip_rel_gap": spec.mip_rel_gap}
    period = dict(out.get("period") or {})
    period.update({"start": spec.period.start, "step": spec.step})
    period["days"] = (spec.period.end - spec.period.start).days + 1
    out["period"] = period
    return out
