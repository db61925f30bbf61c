"""The service: store and migrations, the run executor and its process pool,
the daily planning scheduler, planning itself, measurements and the control
faces. Needs the ``service`` extra; the HTTP face is the top-level ``api``
package.

* :mod:`~energyopt.service.store` -- SQLite by default, PostgreSQL by URL
* :mod:`~energyopt.service.jobs` -- runs in worker processes, with progress
* :mod:`~energyopt.service.scheduler` -- the daily plan of every plant (APScheduler)
* :mod:`~energyopt.service.planning` -- one plan: inputs, solve, schedule document
* :mod:`~energyopt.service.measurements` -- measured state into the next plan
* :mod:`~energyopt.service.control` -- setpoints and schedule documents for control systems
* :mod:`~energyopt.service.instances` -- this process as one instance on its database
  (heartbeat, take-over of a silent instance's runs, one instance on SQLite)
* :mod:`~energyopt.service.settings`, :mod:`~energyopt.service.setup`,
  :mod:`~energyopt.service.cli` -- configuration and the ``energyopt service`` command
"""
