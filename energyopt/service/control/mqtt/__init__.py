"""The MQTT face of the plants: retained schedules and setpoints out, measurements in.

:class:`MqttBridge` connects to the broker of ``ENERGYOPT_MQTT_URL``
(``mqtt://[user:password@]host[:port]``, ``mqtts://`` for TLS with the
system's CA certificates; MQTT 5, paho-mqtt) and runs two threads: paho's
network thread (connects, reconnects with a back-off of 1 s doubling to 30 s,
takes messages in) and a tick thread that, once a second (``tick_s``) for
every active plant of the store (plants registered since are found within 30
ticks),

* publishes the plant's most recently published schedule version (of the
  delivery days from the plant's local today on) when a newer one appears;
* publishes the setpoints of the interval containing the clock's instant and
  of the next one when they change: at every interval boundary and when a new
  version is published. They are built by
  :func:`energyopt.service.control.intervals.covering`, so they equal
  ``GET .../setpoints/current`` at the same instant;

and, between ticks, stores each measurement message as it arrives with
:func:`energyopt.service.measurements.record_readings` (the checks of REST
readings) and answers it.

Topics (``<prefix>``: ``ENERGYOPT_MQTT_TOPIC_PREFIX``; ``<plant>``: the plant's
name with ``/``, ``+``, ``#`` and anything outside ``[A-Za-z0-9_.-]`` as ``_``,
see :func:`~energyopt.service.control.mqtt.messages.plant_segments`).
Everything the bridge sends is JSON with QoS 1:

* ``<prefix>/status`` (retained): ``{"state": "online", "instance_id", "since",
  "plants": {<plant>: {"plant_id", "plant"}}}``; ``{"state": "offline",
  "instance_id", "reason"}`` is the last will (reason ``connection lost``) and
  is sent at a clean stop (``stopped``);
* ``<prefix>/<plant>/schedule`` (retained): the newest version, see
  :func:`~energyopt.service.control.mqtt.messages.schedule_message`;
* ``<prefix>/<plant>/setpoints/current`` (retained): the body of
  ``GET .../setpoints/current?intervals=0``; ``.../setpoints/next`` (retained):
  the same head with the interval after it;
* ``<prefix>/<plant>/measurements`` (subscribed, QoS 1): readings in,
  ``{"measurements": [{"asset", "quantity", "value", "measured_at"}]}``;
* ``<prefix>/<plant>/measurements/result`` (not retained): the reply to each
  message, ``{"status": "stored", "count": n}``, ``{"status": "rejected",
  "field", "detail"}``, or ``{"status": "failed", ...}`` when the store could
  not be reached (send it again).

A measurement message is refused, and nothing of it stored, when it is larger
than :data:`PAYLOAD_LIMIT_BYTES`, not UTF-8 JSON, contains a NUL character,
or fails :func:`~energyopt.service.measurements.readings_from_message` or the
checks of ``record_readings`` (the reply names the field, e.g.
``measurements[0].value``). A ``CorrelationData`` property of the message is
copied onto its reply. After a reconnect everything retained is published
again. Who may publish measurements is the broker's access control.
"""

from energyopt.service.control.mqtt.bridge import MqttBridge, start_bridge
from energyopt.service.control.mqtt.messages import PAYLOAD_LIMIT_BYTES, BrokerAddress

__all__ = ["PAYLOAD_LIMIT_BYTES", "BrokerAddress", "MqttBridge", "start_bridge"]
