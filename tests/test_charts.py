"""Charts a 30-asset plant can read: grouped legends, fixed storage axes, values written
on Sankey nodes and cost bars; the written HTML drawn by a real headless Chromium."""

from __future__ import annotations

import pytest
from browser import browse

from energyopt import load_scenario, run_scenario
from energyopt.outputs.plant_kpis import energy_flows, sankey_links
from energyopt.outputs.plots import comparison_figure, dispatch_figure, sankey_figure
from energyopt.outputs.reporting import write_outputs
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def day():
    """One day of the default 20 GWh/a plant at 1 h (32 assets)."""
    return run_scenario(load_scenario(SCENARIOS / "gigafactory.yaml"), days=1, step="1h")


def _legend(fig) -> list:
    return [t for t in fig.data if t.showlegend is not False and t.name]


def test_dispatch_legend_has_one_entry_per_kind_in_sections_with_distinct_colours(day):
    kinds = day.scenario.plant.kinds()
    fig = dispatch_figure(day.dispatch, kinds=kinds)
    flows = [t for t in _legend(fig) if t.stackgroup]
    names = [t.name for t in flows]
    assert len(names) == len(set(names))  # one entry per group, not per asset and carrier
    assert "dry_room (6)" in names
    assert "drying_oven (4)" in names
    assert "fixed_load (5)" in names
    assert len(flows) <= len(set(kinds.values()))
    colours = [t.line.color for t in flows]
    assert len(colours) == len(set(colours))
    sections = {t.legendgrouptitle.text for t in flows}
    assert {"supply", "conversion", "storage", "process", "load", "neighbours"} <= sections
    # the six rooms' heat draws are one area: their sum
    heat = [t for t in fig.data if t.name == "dry_room (6)" and t.stackgroup == "heat_ht-draw"]
    rooms = day.dispatch[[f"dry_room_{i}.net_heat_ht_kw" for i in range(1, 7)]].sum(axis=1)
    assert list(heat[0].y) == pytest.approx(list(rooms.clip(upper=0)))
    without = dispatch_figure(day.dispatch)
    assert len([t for t in _legend(without) if t.stackgroup]) > 25  # one per asset


def test_storage_levels_use_a_fixed_0_to_100_percent_axis(day):
    fig = dispatch_figure(day.dispatch, kinds=day.scenario.plant.kinds())
    level = next(t for t in fig.data if t.name and t.name.endswith(" level"))
    axis = fig.layout[f"yaxis{level.yaxis.removeprefix('y')}"]
    assert tuple(axis.range) == (0, 100)
    runs = {"plan": day.dispatch, "again": day.dispatch}
    comparison = comparison_figure(runs, {"plan": day.kpis, "again": day.kpis})
    assert tuple(comparison.layout.yaxis2.range) == (0, 100)
    totals = [t for t in comparison.data if t.type == "scatter" and t.mode == "text"]
    assert totals[0].text[0] == f"net {day.kpis['total_cost_eur']:,.0f} EUR"


def test_sankey_writes_mwh_on_every_node_and_link_without_doubled_names(day):
    assets = day.plant.assets
    links = sankey_links(energy_flows(day.dispatch, assets, 1.0), assets)
    fig = sankey_figure(links)
    labels = list(fig.data[0].node.label)
    assert all(label.endswith(" MWh") for label in labels)
    assert not any("gas_boiler (gas_boiler)" in label for label in labels)
    assert any(label.startswith("gas_boiler: ") for label in labels)
    assert any(label.startswith("steelworks_heat (exchange): ") for label in labels)
    assert any(label.startswith("process: storage: ") for label in labels)  # store losses
    grid = next(v for s, t, v in links if s.startswith("grid") and t == "electricity")
    assert f"grid → electricity: {grid / 1000:,.1f} MWh" in fig.data[0].link.label


def test_run_outputs_open_in_headless_chromium(day, tmp_path, chromium):
    paths = write_outputs(day, tmp_path / "out")
    for name in ("dispatch.html", "sankey.html"):
        page = next(p for p in paths if p.name == name)
        dom = browse(chromium, tmp_path / f"profile-{name}", page.as_uri(), "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert 'class="main-svg"' in dom.stdout
        shot = tmp_path / f"{name}.png"
        picture = browse(
            chromium, tmp_path / f"profile-{name}", page.as_uri(), f"--screenshot={shot}"
        )
        assert picture.returncode == 0, picture.stderr[-2000:]
        assert shot.stat().st_size > 20_000
    dispatch_dom = browse(
        chromium, tmp_path / "p2", (tmp_path / "out" / "dispatch.html").as_uri(), "--dump-dom"
    )
    assert "dry_room (6)" in dispatch_dom.stdout  # the grouped legend is drawn
