"""Plant-control integration: published schedules as the control system reads them.

* :mod:`~energyopt.service.control.setpoints` -- setpoints per interval in the control
  system's convention (signs, units, validity);
* :mod:`~energyopt.service.control.documents` -- schedule documents as tables, CSV and
  version differences.
"""
