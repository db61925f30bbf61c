"""Property of the measurement batch endpoint (Hypothesis, bounded and derandomized).

A batch of valid readings with one malformed reading (or a malformed batch
shape) answers 4xx and leaves every stored measurement as it was: the table
is compared with a snapshot taken before the request.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planning_support import make_settings, planning_client

from energyopt.service.store.tables import MeasurementRow

BOUNDED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: what replaces one key of a reading
BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "asset": st.one_of(st.sampled_from(["tank", "", "\x00", "bess\x00"]), st.integers(), st.none()),
    "quantity": st.sampled_from(["soc", "level_kwh\x00", "", "power", 1, None, []]),
    "value": st.sampled_from(
        [1.4, -0.1, "0.5", True, None, [], {}, 1e308 * 10, math.nan, 10**400, "nan"]
    ),
    "measured_at": st.sampled_from(
        [
            "2020-01-01T00:00:00Z",
            "2999-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "yesterday",
            "",
            12345,
            None,
            (NOW + dt.timedelta(days=1)).isoformat(),
        ]
    ),
}


def _reading(value: float = 0.5, minutes_ago: int = 0) -> dict[str, Any]:
    at = NOW - dt.timedelta(minutes=minutes_ago)
    return {"asset": "bess", "quantity": "soc_frac", "value": value, "measured_at": at.isoformat()}


@st.composite
def malformed_batches(draw) -> Any:
    """A batch body with one malformed reading, a missing or extra key, or a bad shape."""
    readings = [_reading(0.3 + i / 10, minutes_ago=i) for i in range(draw(st.integers(0, 3)))]
    kind = draw(st.sampled_from(["value", "missing", "extra", "shape", "conflict"]))
    bad = _reading(0.55, minutes_ago=30)
    if kind == "value":
        key = draw(st.sampled_from(sorted(BAD_VALUES)))
        bad[key] = draw(BAD_VALUES[key])
    elif kind == "missing":
        del bad[draw(st.sampled_from(sorted(bad)))]
    elif kind == "extra":
        bad["unit"] = "kWh"
    elif kind == "conflict":  # the stored reading again with another value
        bad = {**_reading(0.2, minutes_ago=60), "value": 0.25}
    else:
        return draw(st.sampled_from([[], {}, {"measurements": "x"}, {"measurements": [1]}, None]))
    readings.insert(draw(st.integers(0, len(readings))), bad)
    return {"measurements": readings}


def _snapshot(store) -> list[tuple[Any, ...]]:
    """Every stored measurement, in id order."""
    columns = list(MeasurementRow.__table__.columns)
    with store.transaction() as session:
        rows = session.execute(sa.select(*columns).order_by(MeasurementRow.id)).all()
    return [tuple(row) for row in rows]


@pytest.fixture
def papi(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as client:
        client.plant_id = client.register()["id"]
        yield client


def test_malformed_batch_is_4xx_and_stores_nothing(papi):
    url = f"/api/v1/plants/{papi.plant_id}/measurements"
    stored = papi.post(url, json={"measurements": [_reading(0.2, minutes_ago=60)]})
    assert stored.status_code == 201, stored.text
    before = _snapshot(papi.store)

    @BOUNDED
    @given(malformed_batches())
    def check(body):
        answer = papi.post(url, json=body)
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
        assert answer.json()["detail"], answer.text
        assert _snapshot(papi.store) == before, body

    check()
