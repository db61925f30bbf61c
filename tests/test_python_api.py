"""The README's Python API section runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_snippet_is_at_most_ten_lines_of_code():
    lines = [line for line in _snippet().splitlines() if line.strip()]
    assert len(lines) <= 10


def test_the_readme_snippet_runs_and_returns_pandas_objects(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(_snippet(), "README.md", "exec"), namespace)
    run, kpis, sim = namespace["run"], namespace["kpis"], namespace["sim"]
    assert isinstance(run.dispatch, pd.DataFrame)
    assert len(run.dispatch) == 24
    assert str(run.dispatch.index.tz) == "UTC"
    assert namespace["peak_kw"] == pytest.approx(run.kpis["peak_import_kw"])
    assert list(kpis.columns) == ["rolling", "perfect", "baseline"]
    saved = 1 - kpis.loc["total_cost_eur", "rolling"] / kpis.loc["total_cost_eur", "baseline"]
    assert sim.comparison["savings_vs_baseline_pct"] == pytest.approx(saved * 100)
    assert "total_cost_eur" in capsys.readouterr().out
