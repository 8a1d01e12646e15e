"""Basemaps in real headless Chromium: a local tile server stands in for Tianditu (天地图) and
the bureau's internal XYZ server, every other request outside localhost is refused, and the
offline outline basemap draws with no tile server at all."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from browsing import chromium_page, screenshot, serving, sign_in
from importing import demo_store
from tileserver import tile_server

from conftest import account

APPROVAL_NUMBER = "云S(2026)018号"
MAP_PAGES = ("/", "/districts/530102", "/portfolio", "/search?q=" + quote("置业"))


@pytest.fixture(scope="module")
def basemap_store(make_database):
    engine = demo_store(make_database, projects=120)
    account(engine, "regulator")
    return engine


@pytest.fixture(scope="module")
def tiles():
    with tile_server() as server:
        yield server


@pytest.fixture(scope="module")
def tiled(basemap_store, tiles):
    """The service with Tianditu (at the local tile server) and an internal XYZ server."""
    with serving(basemap_store, TIANDITU_KEY="test-tk", TIANDITU_URL=tiles.tianditu_url,
                 BASEMAP_URL=tiles.xyz_url, BASEMAP_NAME="市局内网底图",
                 MAP_APPROVAL_NUMBER=APPROVAL_NUMBER) as url:
        yield url


@pytest.fixture(scope="module")
def offline(basemap_store):
    """The service with no tile server configured at all."""
    with serving(basemap_store, MAP_APPROVAL_NUMBER=APPROVAL_NUMBER) as url:
        yield url


def _tiles_drawn(page, source_id: str) -> int:
    """Tiles of a source the browser loaded and decoded (an aborted one has no width)."""
    page.wait_for_function(
        "id => [...document.querySelectorAll('.basemap-' + id + ' img')]"
        ".some(i => i.complete && i.naturalWidth === 256)", arg=source_id, timeout=15_000)
    return page.eval_on_selector_all(
        f".basemap-{source_id} img", "els => els.filter(i => i.naturalWidth === 256).length")


def _asked_for(page, tiles, sources: set[str]) -> bool:
    """Whether the tile server has been asked for every one of ``sources`` (within 10 s)."""
    for _ in range(100):
        if sources <= tiles.sources():
            return True
        page.wait_for_timeout(100)
    return False


def _real(problems: list[str], tiles) -> list[str]:
    """The problems but the tiles Leaflet itself cancels when their basemap is switched off."""
    return [p for p in problems
            if not (p.startswith(f"failed: {tiles.base}/") and p.endswith("net::ERR_ABORTED"))]


def _choose(page, name: str) -> None:
    page.locator(".basemap-switcher label", has_text=name).locator("input").check()


def test_the_switcher_draws_tiles_from_tianditu_and_the_internal_server(
        tiled, tiles, basemap_store):
    with chromium_page() as (page, problems):
        sign_in(page, tiled, "t-regulator")
        page.goto(tiled + "/", wait_until="networkidle")
        page.wait_for_selector("path[class*='district-']")
        # auto: the first configured tile service, Tianditu's vector map with its annotation
        assert page.get_attribute(".leaflet-container", "data-basemap") == "tianditu"
        assert _tiles_drawn(page, "tianditu") > 0
        assert _asked_for(page, tiles, {"vec", "cva"})
        assert all(q.get("tk") == "test-tk" for s, q in tiles.requests if s in ("vec", "cva"))
        labels = [label.strip() for label in
                  page.locator(".basemap-switcher label").all_inner_texts()]
        assert labels == ["天地图矢量", "天地图影像", "市局内网底图", "行政区划轮廓（离线）",
                          "行政区名称"]
        attribution = page.inner_text(".leaflet-control-attribution")
        assert "天地图" in attribution and f"审图号：{APPROVAL_NUMBER}" in attribution

        _choose(page, "天地图影像")
        assert _tiles_drawn(page, "tianditu_img") > 0
        assert _asked_for(page, tiles, {"img", "cia"})  # the annotation tiles too
        _choose(page, "市局内网底图")
        assert _tiles_drawn(page, "xyz1") > 0
        assert _asked_for(page, tiles, {"xyz"})
        assert page.locator(".basemap-tianditu_img img").count() == 0  # the old one is gone
        screenshot(page, "basemap-internal-xyz.png")
        _choose(page, "行政区划轮廓")
        page.wait_for_selector(".leaflet-container.basemap-outline-on")
        assert page.locator(".basemap-tiles img").count() == 0
        # the choropleth stayed on top of every basemap
        assert page.locator("path[class*='district-']").count() == 14
    assert _real(problems, tiles) == []


def test_the_outline_basemap_draws_offline_with_district_names_always_shown(offline, tiles):
    before = len(tiles.requests)
    with chromium_page() as (page, problems):
        sign_in(page, offline, "t-regulator")
        page.goto(offline + "/", wait_until="networkidle")
        page.wait_for_selector("path[class*='district-']")
        container = page.locator(".leaflet-container")
        assert container.get_attribute("data-basemap") == "outline"
        assert int(container.get_attribute("data-outline")) >= 14 + 1  # districts and the city
        assert page.locator(".basemap-switcher input[type=radio]").count() == 1
        # district names without hovering anything
        page.mouse.move(5, 5)
        page.wait_for_selector(".map-label-district")
        names = page.locator(".map-label-district")
        assert names.count() == 14
        assert names.filter(has_text="五华区").first.is_visible()
        assert "盘龙区" in page.inner_text(".leaflet-riskmap-labels-pane")
        # metric only, and the map approval number
        assert page.locator(".leaflet-control-scale-line").count() == 1
        assert page.inner_text(".leaflet-control-scale-line").strip().endswith(("m", "km"))
        assert f"审图号：{APPROVAL_NUMBER}" in page.inner_text(".leaflet-control-attribution")
        screenshot(page, "basemap-outline.png")
        page.locator(".basemap-labels").uncheck()
        assert page.locator(".map-label-district").count() == 0
    assert problems == []
    assert len(tiles.requests) == before  # not one tile asked for


@pytest.mark.parametrize("path", MAP_PAGES[1:])
def test_every_map_page_has_the_switcher_tiles_and_labels(tiled, tiles, path):
    with chromium_page() as (page, problems):
        sign_in(page, tiled, "t-regulator")
        page.goto(tiled + path, wait_until="networkidle")
        page.wait_for_selector(".basemap-switcher")
        assert _tiles_drawn(page, "tianditu") > 0
        page.wait_for_selector(".map-label-district")
        assert APPROVAL_NUMBER in page.inner_text(".leaflet-control-attribution")
        assert page.locator(".leaflet-control-scale-line").count() == 1
    assert problems == []


def test_the_public_map_has_the_basemap_too(tiled):
    with chromium_page() as (page, problems):
        page.goto(tiled + "/", wait_until="networkidle")
        page.wait_for_selector(".basemap-switcher")
        assert _tiles_drawn(page, "tianditu") > 0
        page.wait_for_selector(".map-label-district")
        assert page.locator(".map-label-district").count() == 14
        assert APPROVAL_NUMBER in page.inner_text(".leaflet-control-attribution")
    assert problems == []


def test_a_gcj02_basemap_shifts_the_data_not_the_tiles(basemap_store, tiles):
    """On a GCJ-02 basemap a district moves by the published offset; the tiles do not."""
    with serving(basemap_store, BASEMAP_URL=tiles.xyz_url, BASEMAP_GCJ02=True) as url, \
            chromium_page() as (page, problems):
        sign_in(page, url, "t-regulator")
        page.goto(url + "/", wait_until="networkidle")
        page.wait_for_selector("path[class*='district-']")
        shift = page.evaluate("""() => {
            const map = RiskMap.state.map, ll = L.latLng(25.04, 102.71), z = 15;
            map.setView(ll, z, { animate: false });
            const onGcj = map.latLngToContainerPoint(ll);
            map.riskBasemap.container.querySelector("input[value=outline]").click();
            const onWgs = map.latLngToContainerPoint(ll);
            const g = RiskBasemap.toGcj(102.71, 25.04), crs = L.CRS.EPSG3857;
            const want = crs.latLngToPoint(L.latLng(g[1], g[0]), z)
              .subtract(crs.latLngToPoint(ll, z));
            return [onGcj.x - onWgs.x, onGcj.y - onWgs.y, want.x, want.y, g];
        }""")
        # the districts moved by the GCJ-02 offset (tens of pixels at zoom 15) against the tiles
        assert abs(shift[2]) > 10 and abs(shift[3]) > 10
        assert shift[0] == pytest.approx(shift[2], abs=1.5)
        assert shift[1] == pytest.approx(shift[3], abs=1.5)
        from geo.coords import wgs84_to_gcj02

        lon, lat = wgs84_to_gcj02(102.71, 25.04)
        assert shift[4] == pytest.approx([lon, lat], abs=1e-9)  # the JS is the same formula
    assert problems == []
