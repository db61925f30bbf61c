"""Properties of the input readers under hostile input (Hypothesis, bounded and derandomized).

* The scenario loader, given a valid document with one mutation anywhere
  (wrong types, NaN, inf, huge numbers, a missing or an extra key, deep
  nesting, NUL characters), from a mapping or from a YAML file, either loads
  or raises :class:`ScenarioError` whose one-line message names the file and
  the key that was mutated; never another exception.
* The CSV time-series and weather readers, given malformed CSV text, either
  return finite numbers or raise :class:`DataError` naming the file and,
  for a bad value, its column; never a pandas or numpy exception.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import grid, load, scenario_doc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from energyopt.errors import DataError, ScenarioError
from energyopt.inputs.config import key_text, load_scenario, scenario_from_dict
from energyopt.inputs.timeseries import read_series_file
from energyopt.inputs.weather import load_weather

BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
#: values that replace a value of the document
HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [math.nan, math.inf, -math.inf, 1e300, -1e300, 10**30, -1, 0, True, None, "", "\x00"]
    ),
    st.sampled_from([[], {}, [[[[]]]], {"a": {"b": {"c": 1}}}, "x" * 10_000]),
    st.text(max_size=20),
    st.floats(),
    st.integers(),
)
FILE_COUNTER = itertools.count()


def _base_document(directory: Path) -> dict[str, Any]:
    assets = [grid(co2_g_per_kwh=300.0), load(500.0), {**load(50.0, "heat_lt")}]
    assets.append({"type": "electric_boiler", "name": "boiler", "heat_max_kw": 200.0})
    return scenario_doc(directory, assets)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a document (mappings and lists)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"deeper": [value]}
    return value


@st.composite
def mutated_documents(draw, base: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """``base`` with one mutation, and the key path it was made at."""
    document = copy.deepcopy(base)
    path = draw(st.sampled_from(_paths(document)))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    kind = draw(st.sampled_from(["replace", "delete", "extra", "deep", "nul_key"]))
    last = path[-1]
    if kind == "replace":
        parent[last] = draw(HOSTILE_VALUES)
    elif kind == "delete" and isinstance(parent, dict):
        del parent[last]
    elif kind == "delete":
        parent.pop(last)
    elif kind == "deep":
        parent[last] = _nested(draw(st.integers(50, 3000)))
    elif isinstance(parent, dict):
        name = "unknown\x00key" if kind == "nul_key" else draw(st.text(min_size=1, max_size=8))
        if name not in parent:
            parent[name] = draw(HOSTILE_VALUES)
            path = (*path[:-1], name)
    return document, path


@pytest.fixture(scope="module")
def base_document(tmp_path_factory) -> dict[str, Any]:
    document = _base_document(tmp_path_factory.mktemp("scenario"))
    scenario_from_dict(document)  # valid as it is
    return document


def _assert_clear(message: str, source: str, path: tuple[Any, ...]) -> None:
    assert "\n" not in message, message
    assert message.startswith(f"{source}: "), message
    assert key_text(path[0]) in message or "(document)" in message, (path, message)


def _check_loads_or_names(document: dict[str, Any], path: tuple[Any, ...], source: str) -> None:
    try:
        scenario_from_dict(document, source=source)
    except ScenarioError as exc:
        _assert_clear(str(exc), source, path)


def test_mutated_documents_load_or_name_the_field(base_document):
    @BOUNDED
    @given(mutated_documents(base_document))
    def check(mutation):
        document, path = mutation
        _check_loads_or_names(document, path, "plant.yaml")

    check()


def test_mutated_yaml_files_load_or_name_the_field(base_document, tmp_path):
    @BOUNDED
    @given(mutated_documents(base_document))
    def check(mutation):
        document, path = mutation
        target = tmp_path / f"scenario_{next(FILE_COUNTER)}.yaml"
        try:
            text = yaml.safe_dump(document, allow_unicode=True)
        except RecursionError:  # too deep for the writer: the same nesting as flow text
            text = "name: deep\nsite: " + "[" * 5000 + "]" * 5000 + "\n"
        target.write_text(text, encoding="utf-8")
        try:
            load_scenario(target)
        except ScenarioError as exc:
            message = str(exc)
        else:
            return
        assert "\n" not in message, message
        assert message.startswith(f"{target}"), message

    check()


def test_deeply_nested_document_is_a_scenario_error():
    """Nesting beyond the interpreter's recursion limit is refused, not a RecursionError."""
    with pytest.raises(ScenarioError, match="description"):
        scenario_from_dict({"name": "x", "description": _nested(5000)}, source="deep.yaml")


# ----------------------------------------------------------------- CSV series

STAMPS = [f"2023-06-05T{h:02d}:00:00Z" for h in range(6)]
BAD_CELLS = st.sampled_from(
    ["", "abc", "nan", "NaN", "inf", "-inf", "1e400", "\x00", '"', "1,2", "0x10", "--1", " "]
)
BAD_STAMPS = st.sampled_from(
    ["", "yesterday", "2023-06-05", "2023-06-05T00:00:00", "2023-06-05T00:00:00+02:00", "\x00"]
    + ["2023-13-45T00:00:00Z", "9999999-01-01T00:00:00Z", STAMPS[0], "2023-06-05T03:30:00Z"]
)


#: rows whose unit-free column holds infinity: no physical range catches it
UNIT_FREE_INF = "2023-06-05T00:00:00Z,1,inf\n2023-06-05T01:00:00Z,1,1\n"


def _rows(columns: list[str]) -> list[list[str]]:
    return [[stamp] + ["10.0"] * len(columns) for stamp in STAMPS]


@st.composite
def malformed_csv(draw, columns: list[str]) -> tuple[str, str | None]:
    """CSV text with ``timestamp_utc`` and ``columns``, broken once; the column broken, if one."""
    header = ["timestamp_utc", *columns]
    rows = _rows(columns)
    kind = draw(st.sampled_from(["cell", "stamp", "header", "ragged", "truncate", "junk"]))
    broken = None
    row = draw(st.integers(0, len(rows) - 1))
    if kind == "cell":
        col = draw(st.integers(1, len(columns)))
        rows[row][col] = draw(BAD_CELLS)
        broken = columns[col - 1]
    elif kind == "stamp":
        rows[row][0] = draw(BAD_STAMPS)
    elif kind == "header":
        header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(["", "x", "\x00"]))
    elif kind == "ragged":
        rows[row] = rows[row] + ["1"] * draw(st.integers(1, 3))
    elif kind == "truncate":
        rows = rows[: draw(st.integers(0, 1))]
    else:
        return draw(st.text(max_size=200)), None
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n", broken


def _write(directory: Path, text: str) -> Path:
    path = directory / f"series_{next(FILE_COUNTER)}.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _finite(frame) -> bool:
    numbers = frame.select_dtypes("number").to_numpy(dtype=float)
    return bool((abs(numbers) < math.inf).all())


def test_malformed_series_csv_reads_finite_or_names_file_and_column(tmp_path):
    columns = ["price_eur_per_mwh", "value"]

    @BOUNDED
    @given(malformed_csv(columns))
    @example(("timestamp_utc,price_eur_per_mwh,value\n" + UNIT_FREE_INF, "value"))
    def check(sample):
        text, broken = sample
        _reads_finite_or_names_file(_write(tmp_path, text), broken, read_series_file)

    check()


def _reads_finite_or_names_file(path, broken, read) -> None:
    """``read(path)`` gives finite numbers, or a DataError naming the file and the
    broken column, the time stamps, or (text the CSV tokenizer cannot split, such
    as an unclosed quote) the file as a whole."""
    try:
        frame = read(path)
    except DataError as exc:
        message = str(exc)
        assert message.startswith(str(path)), message
        named = broken is None or broken in message or "timestamp" in message
        assert named or "not a readable CSV file" in message, message
        return
    assert _finite(frame), frame


def test_series_file_name_with_nul_is_a_data_error():
    with pytest.raises(DataError, match="not a valid file name"):
        read_series_file("prices\x00.csv")


def test_malformed_weather_csv_reads_finite_or_names_file(tmp_path):
    columns = ["temp_air_C", "relative_humidity_pct", "ghi_W_m2", "dni_W_m2", "dhi_W_m2"]

    @BOUNDED
    @given(malformed_csv(columns))
    def check(sample):
        text, broken = sample
        path = _write(tmp_path, text)
        _reads_finite_or_names_file(
            path, broken, lambda p: load_weather(p, latitude=50.0, longitude=8.0, altitude_m=100.0)
        )

    check()
