"""Errors of the control faces (OPC UA, MQTT): a one-line reason for the operator."""

from __future__ import annotations

from energyopt.errors import EnergyOptError


class ControlFaceError(EnergyOptError):
    """An OPC UA or MQTT face cannot start or is misconfigured (names the setting or file)."""
