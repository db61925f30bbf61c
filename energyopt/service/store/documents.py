"""Scenario documents sent to the service: validation and safe file paths.

A scenario document is the JSON form of a scenario YAML file. The service
reads the files a document names (``file:`` keys: weather, price and other
series) only from its allowed data directories (the scenarios directory and
the data directory, :attr:`energyopt.service.settings.Settings.allowed_data_roots`):

* a relative path is taken relative to the scenarios directory;
* an absolute path, or a relative one with ``..``, must still end up inside an
  allowed directory after resolving symbolic links;
* the file must exist.

Anything else is a :class:`DocumentError` naming the key path, e.g.
``document.site.series.price_eur_per_mwh.file``. ``extends:`` is not accepted
in a document (send the merged scenario, or create it from a YAML file in
the scenarios directory with :func:`document_from_file`).

Stored documents keep paths inside the scenarios directory relative to it,
so a data directory can move without rewriting the database.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from energyopt.errors import DocumentError, ScenarioError
from energyopt.inputs.config import (
    Scenario,
    bad_number,
    format_location,
    load_scenario,
    scenario_from_dict,
)

#: most assets, and most input series of the site, one document may list [-]
MAX_ASSETS = 500
MAX_SERIES = 500


def validate_document(
    document: Any, *, roots: Sequence[Path], base_dir: Path, source: str = "document"
) -> Scenario:
    """Validate a scenario document and the files it names.

    Parameters
    ----------
    document : mapping
        Scenario document (same keys as the YAML file).
    roots : sequence of Path
        Directories whose files the document may name.
    base_dir : Path
        Directory that relative ``file:`` paths are relative to.
    source : str
        Name of the document in messages and field paths.

    Raises
    ------
    DocumentError
        With the dotted field path of the first problem.
    """
    if not isinstance(document, dict):
        raise DocumentError(f"{source}: a scenario document must be a mapping", field=source)
    if "extends" in document:
        msg = (
            f"{source}: extends: not accepted in a document; send the complete scenario "
            "or create it from a file in the scenarios directory"
        )
        raise DocumentError(msg, field=f"{source}.extends")
    _check_size(document, source)
    found = bad_number(document)
    if found is not None:
        where, problem = found
        raise DocumentError(f"{source}.{where}: {problem}", field=f"{source}.{where}")
    resolved = resolve_files(document, roots=roots, base_dir=base_dir, path=source)
    try:
        return scenario_from_dict(resolved, source=source)
    except ScenarioError as exc:
        raise DocumentError(str(exc), field=_field_of(exc, source)) from None


def _check_size(document: dict[str, Any], source: str) -> None:
    """At most :data:`MAX_ASSETS` assets and :data:`MAX_SERIES` series per document."""
    plant = document.get("plant")
    assets = plant.get("assets") if isinstance(plant, dict) else None
    if isinstance(assets, list) and len(assets) > MAX_ASSETS:
        msg = f"{source}.plant.assets: {len(assets)} assets, at most {MAX_ASSETS} are accepted"
        raise DocumentError(msg, field=f"{source}.plant.assets")
    site = document.get("site")
    series = site.get("series") if isinstance(site, dict) else None
    if isinstance(series, dict | list) and len(series) > MAX_SERIES:
        msg = f"{source}.site.series: {len(series)} series, at most {MAX_SERIES} are accepted"
        raise DocumentError(msg, field=f"{source}.site.series")


def check_inputs(scenario: Scenario) -> None:
    """Read every input series of the scenario over its period (as ``energyopt validate``).

    Raises
    ------
    DataError
        A file is unreadable, has gaps or bad values, or does not cover the period.
    """
    from energyopt.engine.pipeline import load_inputs, period_index

    load_inputs(scenario, period_index(scenario))


def document_from_file(name: str, *, scenarios_dir: Path) -> dict[str, Any]:
    """The validated document of a YAML file inside ``scenarios_dir`` (``extends`` merged).

    ``name`` is relative to ``scenarios_dir`` and may not leave it.
    """
    root = scenarios_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or path.suffix.lower() not in (".yaml", ".yml"):
        msg = f"path: {name!r} is not a YAML file in the scenarios directory"
        raise DocumentError(msg, field="path")
    if not path.is_file():
        raise DocumentError(f"path: no scenario file {name!r}", field="path")
    return to_document(load_scenario(path), scenarios_dir=root)


def to_document(scenario: Scenario, *, scenarios_dir: Path) -> dict[str, Any]:
    """JSON document of a validated scenario; files inside ``scenarios_dir`` made relative."""
    document = scenario.model_dump(mode="json")
    _relativize_files(document, scenarios_dir.resolve())
    return document


def resolve_files(node: Any, *, roots: Sequence[Path], base_dir: Path, path: str) -> Any:
    """A copy of ``node`` with every ``file:`` path checked and made absolute.

    Raises
    ------
    DocumentError
        A file outside ``roots`` or missing, naming its key path under ``path``.
    """
    resolved = copy.deepcopy(node)
    _resolve_files(resolved, roots=roots, base_dir=base_dir, path=path)
    return resolved


def _resolve_files(node: Any, *, roots: Sequence[Path], base_dir: Path, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "file" and isinstance(value, str):
                node[key] = str(_allowed_file(value, roots=roots, base_dir=base_dir, where=where))
            else:
                _resolve_files(value, roots=roots, base_dir=base_dir, path=where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _resolve_files(item, roots=roots, base_dir=base_dir, path=f"{path}[{i}]")


def _allowed_file(value: str, *, roots: Sequence[Path], base_dir: Path, where: str) -> Path:
    candidate = Path(value)
    if not candidate.is_absolute():
        candidate = base_dir / candidate
    resolved = candidate.resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        msg = f"{where}: {value!r} is outside the service's data directories"
        raise DocumentError(msg, field=where)
    if not resolved.is_file():
        raise DocumentError(f"{where}: no such file {value!r}", field=where)
    return resolved


def _relativize_files(node: Any, root: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "file" and isinstance(value, str) and Path(value).is_absolute():
                path = Path(value)
                if path.is_relative_to(root):
                    node[key] = path.relative_to(root).as_posix()
            else:
                _relativize_files(value, root)
    elif isinstance(node, list):
        for item in node:
            _relativize_files(item, root)


def _field_of(exc: ScenarioError, source: str) -> str | None:
    """Dotted key path of a validation error raised by :func:`scenario_from_dict`."""
    cause = exc.__context__
    if isinstance(cause, ValidationError) and cause.errors():
        return f"{source}.{format_location(cause.errors()[0]['loc'])}"
    return None
