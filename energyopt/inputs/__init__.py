"""Inputs: the scenario file, series on the model's time grid, weather and PV,
the production calendar. Plain functions and pydantic models, arrays in and
out; nothing here builds or solves a model.

* :mod:`~energyopt.inputs.config` -- the scenario document (pydantic) and its loading
* :mod:`~energyopt.inputs.timeseries` -- the time grid, series files, resampling
* :mod:`~energyopt.inputs.weather` -- weather files, psychrometrics, PV (pvlib)
* :mod:`~energyopt.inputs.production` -- the production calendar
"""
