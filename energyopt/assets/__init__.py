"""Asset kinds: one module each, registered by its ``kind``.

Adding an asset kind means adding its module and one import line below; the
scenario schema (``AssetParamsUnion``) is built from the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from energyopt.assets import (  # noqa: F401  (imports register the kinds)
    aging,
    battery,
    chiller,
    dry_room,
    drying_oven,
    electric_boiler,
    exchange,
    fixed_load,
    formation,
    gas_boiler,
    grid,
    heat_pump,
    pv,
    thermal_storage,
    wind,
)
from energyopt.assets.base import (
    ASSET_TYPES,
    CARRIERS,
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
)

if TYPE_CHECKING:
    # built from the registry at import time; to a type checker, any kind's params
    AssetParamsUnion = AssetParams
else:
    AssetParamsUnion = Union[tuple(cls.Params for cls in ASSET_TYPES.values())]  # noqa: UP007


def create_asset(params: AssetParams) -> Asset:
    """Instantiate the asset class registered for ``params.type``."""
    return ASSET_TYPES[params.type](params)


__all__ = [
    "ASSET_TYPES",
    "CARRIERS",
    "Asset",
    "AssetParams",
    "AssetParamsUnion",
    "AssetTerms",
    "BuildContext",
    "create_asset",
]
