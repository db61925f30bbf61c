"""Daily planning of a registered plant: from measured state and forecasts to a
published, immutable schedule version for the next local day.

One planning run (:func:`plan_plant`):

1. the **planning instant** is the latest local planning time of the plant at
   or before ``now`` (:func:`planning_instant`); the **delivery day** is the
   local day after it. The instant is the publication key: a second run for
   the same instant (a double trigger, a catch-up after a restart that the
   regular trigger repeats) returns the version already published instead of
   adding one;
2. the **window** starts with the interval that contains ``now`` and looks
   ``horizon_h`` ahead (48 h), at least to the end of the delivery day;
3. **inputs** are forecasts as known at ``now`` (:mod:`energyopt.engine.forecast`):
   measured quantities up to now, day-ahead prices once their auction is
   published, the rest by the plant's forecast method (persistence by
   default). ``inputs: replay`` maps the scenario's historical series onto the
   present by a whole number of weeks (weekdays and UTC time of day kept; the
   shift is reported) for plants whose data files are a past year;
4. the **initial state** comes from the latest measurements not older than
   ``state_max_age_h`` (:mod:`energyopt.service.measurements`); assets without one
   start from their configured initial values, and the schedule says which;
5. the window is planned by the rolling engine's single-window step
   (:meth:`energyopt.engine.rolling.RollingEngine.step`), on the previous plan's
   model of the same scenario when it fits (:mod:`energyopt.model.cache`;
   the run's solver report says ``model: build`` or ``update``): an optimal plan, the
   incumbent when the solver hits its time limit (flagged with its gap), or
   the rule-based baseline when the solver finds no plan (flagged with the
   reason). The baseline on the same inputs is also solved for comparison;
6. the run is recorded in the store as a run of mode ``daily_plan`` (its
   dispatch is the whole window), and the delivery day's part is published as
   the next schedule version in one transaction.

Demand charges: daily operation has no period end, so each month runs to its
end. The month-to-date peak (state ``peak_kw:YYYY-MM`` from the meter reading
``peak_import_month_kw``) is what a plan must exceed to pay more; with
``peak_floor: window`` (the default) a rise up to the baseline's peak on the
window's forecasts costs the window's share of the month, a rise above it the
full rate (``demand_charge: full``; ``prorated`` prices every rise at the share).

Modules: :mod:`~.options` (stored options), :mod:`~.calendar` (instant, delivery
day, window), :mod:`~.inputs` (series and initial state), :mod:`~.window` (one
window through the rolling engine, KPIs), :mod:`~.run` (record and publish; the
document format itself lives in :mod:`energyopt.service.schedule`).
"""

from energyopt.service.planning.calendar import (
    day_bounds,
    delivery_date,
    planning_instant,
    window_index,
)
from energyopt.service.planning.inputs import initial_state, replay_shift, window_inputs
from energyopt.service.planning.options import PlanningOptions
from energyopt.service.planning.run import RUN_MODE, DataPaths, PlanningOutcome, plan_plant
from energyopt.service.planning.window import WindowPlan, comparison_kpis, plan_window

__all__ = [
    "RUN_MODE",
    "DataPaths",
    "PlanningOptions",
    "PlanningOutcome",
    "WindowPlan",
    "comparison_kpis",
    "day_bounds",
    "delivery_date",
    "initial_state",
    "plan_plant",
    "plan_window",
    "planning_instant",
    "replay_shift",
    "window_index",
    "window_inputs",
]
