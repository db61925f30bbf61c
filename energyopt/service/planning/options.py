"""How a plant is planned every day: the options stored with it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from energyopt.engine.forecast import ForecastOptions
from energyopt.errors import ScenarioError
from energyopt.inputs.config import StepText, format_location
from energyopt.service.store import PlantRecord

#: intraday cadences that divide the local day: re-plans on the same clock times daily [h]
INTRADAY_CADENCES_H = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)


class PlanningOptions(BaseModel):
    """How a plant is planned every day (stored with the plant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: StepText = Field("15min", description="schedule time step")
    horizon_h: float = Field(48.0, gt=0, le=24 * 7, description="look-ahead of a plan [h]")
    forecast: Literal["persistence", "perfect", "noisy"] = Field(
        "persistence", description="how inputs not known at planning time are forecast"
    )
    persistence_lag: str = Field("1D", description="persistence: 1D or 7D")
    inputs: Literal["live", "replay"] = Field(
        "live",
        description="live: the series files are kept current by a data feed; replay: "
        "historical files are mapped onto the present by whole weeks",
    )
    measurement_max_age_h: float = Field(
        24.0, gt=0, description="older readings are refused when reported [h]"
    )
    state_max_age_h: float = Field(
        6.0, gt=0, description="older readings are not used as initial state [h]"
    )
    time_limit_s: float | None = Field(
        None, gt=0, description="solver time limit of a planning run; default: the scenario's [s]"
    )
    demand_charge: Literal["full", "prorated"] = Field(
        "full",
        description="full: a rise of the month's peak import pays the monthly demand charge, "
        "as the bill does; prorated: only the share of the month's remaining hours the "
        "window covers",
    )
    peak_floor: Literal["window", "none"] = Field(
        "window",
        description="window: a rise of the peak up to the baseline's peak on the window's "
        "forecasts is free (the month pays it anyway); none: only the peak reached so far",
    )

    intraday_every_h: float | None = Field(
        None,
        gt=0,
        le=24,
        description="re-plan the rest of the day from the measured state this often, on the "
        "local clock from midnight [h]: a divisor of the day (0.25, 0.5, 1, 2, 3, 4, 6, 8, "
        "12 or 24); None: only on request or deviation",
    )
    intraday_deviation_frac: float | None = Field(
        0.1,
        gt=0,
        le=1,
        description="re-plan when a measured state (a storage level, a dew point, an oven "
        "on or off) differs from the plan in force by more than this share of its range; "
        "None: never",
    )

    @field_validator("intraday_every_h")
    @classmethod
    def _divides_the_day(cls, value: float | None) -> float | None:
        if value is not None and value not in INTRADAY_CADENCES_H:
            allowed = ", ".join(f"{c:g}" for c in INTRADAY_CADENCES_H)
            raise ValueError(f"{value:g} h does not divide the day evenly (allowed: {allowed})")
        return value

    def forecast_options(self) -> ForecastOptions:
        """The forecast method of these options."""
        return ForecastOptions(kind=self.forecast, lag=self.persistence_lag)

    @classmethod
    def of(cls, plant: PlantRecord) -> PlanningOptions:
        """The options stored with ``plant`` (defaults where none)."""
        return cls.model_validate(plant.options or {})

    @classmethod
    def parse(cls, document: Any, source: str = "options") -> PlanningOptions:
        """Validate options from a request; ScenarioError naming the field otherwise."""
        try:
            return cls.model_validate(document or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = f"{source}.{format_location(error['loc'])}"
            raise ScenarioError(f"{where}: {error['msg'].removeprefix('Value error, ')}") from None
