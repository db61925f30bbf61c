"""HiGHS's irreducible infeasible subset (IIS), in the plant's names.

When a hard plan is infeasible, :func:`infeasible_subset` asks HiGHS for a
set of rows and column bounds that cannot hold together and drop any one of
which makes them feasible (``iis_strategy``: from an elastic LP, refined to
an irreducible set; for a MILP on its relaxation, which HiGHS supports). Each
row is named by its owner (``asset 'store'`` or ``plant``), its constraint
and, for rows over the model's time steps, their UTC time stamps; rows of one
constraint are grouped (``level_balance at 00:00 .. 02:00 (3 rows)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import highspy
import pandas as pd

if TYPE_CHECKING:
    from energyopt.model.plant import PlantSession
    from energyopt.model.standard_form import StandardForm

#: HiGHS iis_strategy bits: from an elastic LP (2) and refined to irreducible (4)
IIS_STRATEGY = 2 | 4
#: rows or bounds of one constraint a message lists by time before summing up
SHOWN_STAMPS = 3


@dataclasses.dataclass(frozen=True)
class IisEntry:
    """A constraint or variable bound in the subset, with where it applies."""

    owner: str  # "asset 'name'" or "plant"
    name: str  # constraint, or "bound of <variable>"
    stamps: tuple[pd.Timestamp, ...]  # its rows' time stamps (empty if not over time)
    count: int  # rows (or bounds) of it in the subset

    def text(self) -> str:
        """One part of a message, e.g. ``asset 'store': level_terminal``."""
        where = ""
        if self.stamps:
            shown = ", ".join(f"{s:%Y-%m-%d %H:%M}" for s in self.stamps[:SHOWN_STAMPS])
            more = " .." if len(self.stamps) > SHOWN_STAMPS else ""
            where = f" at {shown}{more} UTC"
        rows = f" ({self.count} rows)" if self.count > 1 else ""
        return f"{self.owner}: {self.name}{where}{rows}"


def infeasible_subset(plant: PlantSession, highs: highspy.Highs) -> list[IisEntry]:
    """The IIS of the infeasible model loaded in ``highs`` (run), grouped by constraint.

    Empty when HiGHS finds none (e.g. a time limit hit first).
    """
    highs.setOptionValue("iis_strategy", IIS_STRATEGY)
    status, iis = highs.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return []
    form = plant.standard_form()
    rows = (form.row_constraints[k] for k in iis.row_index_)
    bounds = (form.columns[k] for k in iis.col_index_)
    return _grouped(plant, form, rows, "") + _grouped(plant, form, bounds, "bound of ")


def _grouped(
    plant: PlantSession, form: StandardForm, items: Iterable[Any], prefix: str
) -> list[IisEntry]:
    found: dict[tuple[str, str], list[pd.Timestamp | None]] = {}
    for data in items:
        owner, name, stamp = _place(plant, data)
        found.setdefault((owner, prefix + name), []).append(stamp)
    return [
        IisEntry(owner, name, tuple(sorted(s for s in stamps if s is not None)), len(stamps))
        for (owner, name), stamps in found.items()
    ]


def _place(plant: PlantSession, data: Any) -> tuple[str, str, pd.Timestamp | None]:
    """Owner, component name (with its index where not over time) and time stamp."""
    component = data.parent_component()
    block = component.parent_block()
    owner = "plant" if block is plant.model else f"asset {block.index()!r}"
    if not component.is_indexed():
        return owner, component.local_name, None
    index = data.index()
    subsets = list(component.index_set().subsets())
    if subsets[-1] is plant.model.T:
        position = index[-1] if isinstance(index, tuple) else index
        rest = index[:-1] if isinstance(index, tuple) else ()
        label = f"{component.local_name}[{', '.join(map(str, rest))}]" if rest else None
        return owner, label or component.local_name, plant.ctx.index[int(position)]
    return owner, f"{component.local_name}[{index}]", None
