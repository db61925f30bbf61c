"""Names of a package loaded on first use (PEP 562), so that importing the
package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str], space: dict[str, Any]) -> Callable:
    """A module ``__getattr__`` that imports ``names[name]`` (a module) on first use.

    The value is kept in ``space`` (the package's ``globals()``), so the
    lookup happens once per name.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            space[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
