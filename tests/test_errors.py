"""One error tree: every error class of the product in energyopt.errors, drawn as it is."""

from __future__ import annotations

import re

import energyopt.errors as errors


def _drawn() -> dict[str, int]:
    """Class name -> depth in the tree of the module docstring."""
    tree, root_column = {}, None
    for line in errors.__doc__.splitlines():
        match = re.match(r"^[\s│├└─]*([A-Z][A-Za-z]+Error)\b", line)
        if match:
            column = match.start(1)
            root_column = column if root_column is None else root_column
            tree[match.group(1)] = (column - root_column) // 4
    return tree


def _depth(cls: type) -> int:
    return len([c for c in cls.__mro__ if issubclass(c, errors.EnergyOptError)]) - 1


def test_the_docstring_draws_every_error_class_at_its_place():
    classes = {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.EnergyOptError)
    }
    drawn = _drawn()
    assert set(drawn) == set(classes)
    assert {name: _depth(cls) for name, cls in classes.items()} == drawn


def test_no_error_class_of_the_product_lives_elsewhere():
    from pathlib import Path

    root = Path(errors.__file__).resolve().parents[1]
    defined = []
    for path in [*root.joinpath("energyopt").rglob("*.py"), *root.joinpath("api").rglob("*.py")]:
        if path.name == "errors.py" and path.parent.name == "energyopt":
            continue
        text = path.read_text(encoding="utf-8")
        defined += [f"{path.name}: {m}" for m in re.findall(r"^class (\w+Error)\(", text, re.M)]
    assert defined == []


def test_field_errors_carry_their_field():
    error = errors.MeasurementError("bad value", field="measurements[2].value")
    assert (str(error), error.field) == ("bad value", "measurements[2].value")
    assert isinstance(error, errors.DataError)
    assert errors.DocumentError("x", field="plant.name").field == "plant.name"
