"""Shared helpers of the plant's process assets (dry rooms, ovens).

* :class:`ProcessAsset` caches the per-interval inputs an asset derives from a
  build context, so the many mutable parameters filled from them are computed
  (and validated) once per window.
* :func:`net_injections` sums an asset's draws from and supplies to carriers
  into the ``injections`` mapping of :class:`~energyopt.assets.base.AssetTerms`,
  also when two flows share a carrier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from energyopt.assets.base import Asset, AssetParams, BuildContext

P = TypeVar("P")


class ProcessAsset(Asset):
    """Asset whose inputs are derived once per window (see :meth:`cached`)."""

    legend_section = "process"

    #: contexts remembered: a rolling window compares the new one with the built one
    CACHE_SIZE = 2

    def __init__(self, params: AssetParams) -> None:
        super().__init__(params)
        self._cached: list[tuple[BuildContext, Any]] = []

    def cached(self, ctx: BuildContext, compute: Callable[[BuildContext], P]) -> P:
        """``compute(ctx)``, evaluated once for each context object."""
        for known, value in self._cached:
            if known is ctx:
                return value
        value = compute(ctx)
        self._cached = [*self._cached[-(self.CACHE_SIZE - 1) :], (ctx, value)]
        return value


def net_injections(T: Iterable[int], flows: Iterable[tuple[str, float, Any]]) -> dict:
    """Injections per carrier from ``(carrier, sign, indexed flow)`` triples [kW or kg/h].

    ``sign`` is +1 for a supply to the carrier and -1 for a draw from it.
    """
    steps = list(T)
    injections: dict[str, dict[int, Any]] = {}
    for carrier, sign, flow in flows:
        own = injections.setdefault(carrier, dict.fromkeys(steps, 0))
        for t in steps:
            own[t] = own[t] + sign * flow[t]
    return injections
