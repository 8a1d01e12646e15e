"""The statistics' charts in real headless Chromium at 1440 px: readable (no two axis labels
overlap, read from ECharts' own layout), each saveable as PNG and defined, time series
zoomable, and a district's bar filters the page."""

from __future__ import annotations

import pytest
from browsing import chromium_page, screenshot, serving, sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account

WIDTH = 1440

# Every visible axis label of every chart, as ECharts laid it out: its text and its box in
# page pixels (ECharts marks axis labels "label_<tick>" and hides the ones it drops).
LABEL_BOXES = """() => {
  const shown = (el) => {
    for (let e = el; e; e = e.parent) if (e.ignore || e.invisible) return false;
    return true;
  };
  const out = {};
  for (const [id, chart] of Object.entries(window.riskmapCharts || {})) {
    chart.getZr().flush();
    const labels = [];
    const visit = (el) => {
      if (el.anid && String(el.anid).startsWith("label_")) labels.push(el);
    };
    for (const root of chart.getZr().storage.getRoots()) {
      visit(root);
      if (root.traverse) root.traverse(visit);
    }
    const boxes = [];
    for (const el of labels) {
      if (!shown(el) || !el.style || !el.style.text) continue;
      const r = el.getBoundingRect().clone();
      const m = el.getComputedTransform();
      if (m) r.applyTransform(m);
      boxes.push({text: String(el.style.text), x: r.x, y: r.y, w: r.width, h: r.height});
    }
    const option = chart.getOption();
    out[id] = {boxes: boxes,
               save: !!(option.toolbox && option.toolbox[0]
                        && option.toolbox[0].feature.saveAsImage),
               zoom: (option.dataZoom || []).length,
               points: option.xAxis && option.xAxis[0] && option.xAxis[0].data
                       ? option.xAxis[0].data.length : 0};
  }
  return out;
}"""


@pytest.fixture(scope="module")
def store(make_database):
    engine = demo_store(make_database, projects=300)
    account(engine, "regulator")
    with engine.connect() as conn:
        insurer = conn.execute(text(
            "SELECT insurer_id FROM policy_share GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
    account(engine, "insurer", insurer)
    return engine, insurer


@pytest.fixture(scope="module")
def server(store):
    with serving(store[0]) as url:
        yield url


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes intersect by more than half a pixel each way."""
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5
                    and a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5):
                out.append((a["text"], b["text"]))
    return out


def open_every_section(page) -> int:
    """Opens every collapsed section; waits until each chart is drawn. Returns the charts."""
    for summary in page.locator("details.stats-section > summary").all():
        if summary.evaluate("s => !s.parentElement.open"):
            summary.click()
    total = int(page.get_attribute("body", "data-charts-total"))
    empty = page.locator(".chart-canvas.empty").count()
    page.wait_for_function(
        f"Number(document.body.getAttribute('data-charts-drawn')) + "
        f"document.querySelectorAll('.chart-canvas.empty').length >= {total}")
    assert total - empty >= 1
    return total - empty


def check_charts(page, name: str) -> dict:
    page.set_viewport_size({"width": WIDTH, "height": 900})
    drawn = open_every_section(page)
    page.wait_for_timeout(300)  # ECharts lays labels out on its next frame
    screenshot(page, name)
    charts = page.evaluate(LABEL_BOXES)
    assert len(charts) == drawn
    for chart_id, chart in charts.items():
        assert chart["save"], f"{chart_id} has no save-as-image button"
        assert overlaps(chart["boxes"]) == [], chart_id
    # each chart says what it shows
    definitions = page.eval_on_selector_all(
        "figure.chart", "els => els.map(e => [e.id, (e.querySelector('.chart-define') || "
                        "{}).title || ''])")
    assert definitions and all(title.strip() for _, title in definitions), definitions
    return charts


def test_the_statistics_charts_are_readable_saveable_and_defined(server, store):
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        page.goto(server + "/statistics", wait_until="networkidle")
        # the overview fits the first screen, the sections come folded
        assert page.locator("#kpis .kpi").count() >= 8
        assert page.locator("#kpis").bounding_box()["y"] < 600
        assert page.locator("details.stats-section[open]").count() == 0
        assert page.locator("#glossary tr[id^='define-']").count() >= 20
        charts = check_charts(page, "statistics-1440.png")
        monthly = charts["claims_by_month"]
        assert monthly["zoom"] >= 1 and 0 < monthly["points"] <= 40  # months → quarters
        assert len(charts["premium_by_issue_month"]["boxes"]) >= 4
        # clicking a district's bar filters the page by it
        name = page.evaluate(
            "window.riskmapCharts.premium_by_district.getOption().yAxis[0].data[0]")
        with page.expect_navigation():
            page.evaluate("""(name) => {
              const c = window.riskmapCharts.premium_by_district;
              c.trigger('click', {componentType: 'series', name: name, seriesIndex: 0,
                                  dataIndex: 0});
            }""", name)
        assert "district=" in page.url
        assert problems == []


def test_a_district_page_charts_are_readable_for_an_insurer(server, store):
    _, insurer = store
    with chromium_page() as (page, problems):
        sign_in(page, server, f"t-insurer-{insurer}")
        page.goto(server + "/districts/530102", wait_until="networkidle")
        assert page.locator("#kpis .kpi").count() >= 8
        check_charts(page, "district-1440.png")
        titles = page.eval_on_selector_all("#key-indicators tbody tr td:first-child",
                                           "els => els.map(e => e.textContent.trim())")
        assert any(t.startswith("平均费率") for t in titles)
        assert problems == []
