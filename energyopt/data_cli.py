"""``energyopt data fetch``: live input data, cached as the package's CSV files.

Each command writes one CSV file (kept as the cache: an existing file is not
fetched again unless ``--force``) and adds the lines that name it to a site
snippet (``--snippet``, default ``<out>/site-snippet.yaml``) that can be
pasted into a scenario's ``site:`` section. Paths in the snippet are relative
to the snippet's folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from energyopt.errors import EnergyOptError

if TYPE_CHECKING:
    import pandas as pd

data_app = typer.Typer(no_args_is_help=True, help="Input data: fetch and cache live series.")
fetch_app = typer.Typer(
    no_args_is_help=True,
    help="Fetch a source into a CSV file and a site snippet (needs internet).",
)
data_app.add_typer(fetch_app, name="fetch")
console = Console()
err_console = Console(stderr=True)

OUT_OPTION = typer.Option(Path("scenarios/data"), help="folder of the CSV file")
SNIPPET_OPTION = typer.Option(None, help="site snippet YAML (default <out>/site-snippet.yaml)")
FORCE_OPTION = typer.Option(False, "--force", help="fetch again although the file exists")
#: pip extra that brings the network libraries
DATA_EXTRA = "energyopt[data]"


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def zone_label(zone: str) -> str:
    """File label of an entsoe-py zone code: ``SE_1`` -> ``SE1``, ``DE_LU`` -> ``DE-LU``."""
    head, _, tail = zone.upper().partition("_")
    if not tail:
        return head
    return f"{head}{tail}" if tail.isdigit() else f"{head}-{tail}"


def _fetch(
    path: Path,
    snippet: Path | None,
    site: Callable[[str], dict],
    note: str,
    frame: Callable[[], pd.DataFrame],
    force: bool,
) -> None:
    """Write ``frame()`` to ``path`` unless cached, then name it in the snippet.

    ``site`` maps the file's path relative to the snippet to the snippet's
    ``site`` keys.
    """
    from energyopt.inputs import fetch

    snippet = snippet or path.parent / "site-snippet.yaml"
    try:
        if path.exists() and not force:
            console.print(f"cached {path} (exists; --force fetches it again)")
        else:
            fetch.write_series_csv(frame(), path)
            console.print(f"wrote {path}")
        relative = os.path.relpath(path.resolve(), snippet.resolve().parent)
        fetch.merge_snippet(snippet, site(relative), note)
    except ModuleNotFoundError as exc:
        _fail(f"{exc.name} is not installed; install the extra: pip install '{DATA_EXTRA}'")
    except EnergyOptError as exc:
        _fail(str(exc))
    console.print(f"site snippet {snippet}")


@fetch_app.command("pvgis")
def fetch_pvgis(
    latitude: float = typer.Option(..., min=-90, max=90, help="[deg north]"),
    longitude: float = typer.Option(..., min=-180, max=180, help="[deg east]"),
    name: str = typer.Option(..., help="site name for the file: weather_<name>_pvgis-tmy.csv"),
    year: int = typer.Option(2023, help="nominal (common) year the typical year is placed on"),
    out: Path = OUT_OPTION,
    snippet: Path | None = SNIPPET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """PVGIS typical year (pvlib.iotools.get_pvgis_tmy) as a weather file."""
    from energyopt.inputs import fetch

    _fetch(
        out / f"weather_{name}_pvgis-tmy.csv",
        snippet,
        lambda file: {"latitude": latitude, "longitude": longitude, "weather": {"file": file}},
        "weather: PVGIS typical year, (c) European Union / JRC, free re-use with "
        "acknowledgement (Commission Decision 2011/833/EU)",
        lambda: fetch.pvgis_tmy(latitude, longitude, year=year),
        force,
    )


@fetch_app.command("entsoe")
def fetch_entsoe(
    zone: str = typer.Option(..., help="bidding zone, entsoe-py code: FR, DE_LU, SE_1, PL ..."),
    year: int = typer.Option(2023, help="UTC calendar year"),
    step: str = typer.Option("1h", help="file step: finer prices averaged, coarser held"),
    out: Path = OUT_OPTION,
    snippet: Path | None = SNIPPET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """ENTSO-E day-ahead prices (entsoe-py; token in ENTSOE_API_TOKEN) as a price file."""
    from energyopt.inputs import fetch

    def prices() -> pd.DataFrame:
        return fetch.entsoe_day_ahead(zone, year, fetch.entsoe_token(), step)

    _fetch(
        out / f"prices_{zone_label(zone)}_{year}.csv",
        snippet,
        lambda file: {
            "series": {"price_eur_per_mwh": {"file": file, "column": "price_eur_per_mwh"}}
        },
        f"prices: ENTSO-E Transparency Platform, day-ahead prices {zone} {year} "
        "(re-use with attribution under its terms of use)",
        prices,
        force,
    )


@fetch_app.command("open-meteo")
def fetch_open_meteo(
    latitude: float = typer.Option(..., min=-90, max=90, help="[deg north]"),
    longitude: float = typer.Option(..., min=-180, max=180, help="[deg east]"),
    name: str = typer.Option(..., help="site name for the file: weather_<name>_open-meteo-<year>"),
    year: int = typer.Option(2023, help="UTC calendar year"),
    out: Path = OUT_OPTION,
    snippet: Path | None = SNIPPET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Open-Meteo hourly reanalysis weather of one year as a weather file."""
    from energyopt.inputs import fetch

    _fetch(
        out / f"weather_{name}_open-meteo-{year}.csv",
        snippet,
        lambda file: {"latitude": latitude, "longitude": longitude, "weather": {"file": file}},
        "weather: Open-Meteo historical weather API, CC BY 4.0, 'Weather data by Open-Meteo.com'",
        lambda: fetch.open_meteo_archive(latitude, longitude, year),
        force,
    )
