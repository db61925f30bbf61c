"""OPC UA face of the service: the plants' setpoints, measurements and re-plans.

* :mod:`~energyopt.service.control.opcua.server` -- the server
  (:class:`~energyopt.service.control.opcua.server.ControlServer`) and its thread;
* :mod:`~energyopt.service.control.opcua.address_space` -- ``Plants/<plant>/<asset>/``;
* :mod:`~energyopt.service.control.opcua.security` -- API keys as passwords, roles;
* :mod:`~energyopt.service.control.opcua.certs` -- certificates and the trust list.

Needs the ``control`` extra (asyncua).
"""
