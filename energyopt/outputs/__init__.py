"""Outputs: dispatch tables, KPIs, plant KPIs, comparisons and Plotly figures.

Everything here works on plain tables (the dispatch DataFrame and the cost
totals a :class:`~energyopt.model.Reading` holds) and on the asset kinds'
declarations; nothing imports Pyomo or the model package.

* :mod:`~energyopt.outputs.results` -- balance residuals, cost and energy KPIs
* :mod:`~energyopt.outputs.plant_kpis` -- kWh per kWh of cells, process shares
* :mod:`~energyopt.outputs.comparison` -- side-by-side KPIs of runs
* :mod:`~energyopt.outputs.plots` -- dispatch, cost and Sankey figures
* :mod:`~energyopt.outputs.reporting` -- files of a run
"""
