"""The engine: one-shot runs, the rule-based baseline, rolling horizons with
forecasts, the replay of a committed plan and the three-mode simulation.

It drives the model through :class:`energyopt.model.PlantSession` (build,
update, solve, read, fix) and never touches Pyomo itself.

* :mod:`~energyopt.engine.pipeline` -- scenario -> inputs -> session -> dispatch and KPIs
* :mod:`~energyopt.engine.baseline` -- the rule-based operation a plant would run unoptimised
* :mod:`~energyopt.engine.state` -- the plant state carried from window to window
* :mod:`~energyopt.engine.forecast` -- forecasts of prices, weather and loads
* :mod:`~energyopt.engine.rolling` -- rolling horizons, replay, simulate, the economics gate
"""
