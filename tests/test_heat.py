"""Heat maps: where the risk events and the claims are, weighted by how much they matter,
summed in cells of a few pixels at the view's zoom (bounded bytes at any programme size)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from layers import heat
from layers.filters import FilterError, Filters
from layers.heat import HeatView, heat_points

# "in scope" below: on a policy in force (the scope drops returned and cancelled policies)


def _events(points) -> int:
    return sum(count for *_, count in points)


def test_risk_event_cells_sum_their_events_severities(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "risk_events", Filters())
        events, weight = conn.execute(text("""
            SELECT count(*), sum(s.weight) FROM risk_event e
            JOIN risk_severity s ON s.code = e.severity
            WHERE e.project_id IN (SELECT project_id FROM policy
                                 WHERE status NOT IN ('returned', 'cancelled'))""")).one()
    assert _events(points) == events > 0
    assert sum(w for _, _, w, _ in points) == pytest.approx(float(weight))
    assert len(points) < events  # events at one place share a cell


def test_cells_are_lat_lon_in_the_city_rounded_to_a_metre(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "risk_events", Filters())
    for lat, lon, _, _ in points:
        assert 24 < lat < 27 and 102 < lon < 104  # Leaflet.heat order: lat first
        assert round(lat, 5) == lat and round(lon, 5) == lon


def test_a_closer_view_has_finer_cells_and_the_same_events(kunming):
    with kunming.connect() as conn:
        city = heat_points(conn, "risk_events", Filters(), HeatView(zoom=9))
        street = heat_points(conn, "risk_events", Filters(), HeatView(zoom=16))
    assert len(city) < len(street)
    assert _events(city) == _events(street)


def test_too_many_cells_are_drawn_coarser_not_cut(kunming, monkeypatch):
    with kunming.connect() as conn:
        fine = heat_points(conn, "risk_events", Filters(), HeatView(zoom=18))
        monkeypatch.setattr(heat, "MAX_CELLS", 40)
        bounded = heat_points(conn, "risk_events", Filters(), HeatView(zoom=18))
    assert len(fine) > 40 >= len(bounded) > 0
    assert _events(bounded) == _events(fine)
    assert sum(w for _, _, w, _ in bounded) == pytest.approx(sum(w for _, _, w, _ in fine))


@pytest.mark.parametrize("kind", ["risk_events", "claims"])
def test_the_coarser_cells_are_those_of_the_first_zoom_out_that_fits(kunming, monkeypatch, kind):
    """Too many cells: the answer is exactly the map of the first zoom out (cells twice, four
    times… as wide) that fits, chosen in one query — also when it fits exactly."""
    with kunming.connect() as conn:
        monkeypatch.setattr(heat, "MAX_CELLS", 10**6)
        zoomed_out = [heat_points(conn, kind, Filters(), HeatView(zoom=z))
                      for z in range(17, 0, -1)]
        # a zoom out that holds fewer cells than the one before it, as many as may be drawn
        k = next(k for k in range(1, len(zoomed_out))
                 if len(zoomed_out[k]) < len(zoomed_out[k - 1]))
        monkeypatch.setattr(heat, "MAX_CELLS", len(zoomed_out[k]))
        assert heat_points(conn, kind, Filters(), HeatView(zoom=17)) == zoomed_out[k]


def test_the_box_keeps_only_events_inside_it(kunming):
    box = (102.70, 25.02, 102.75, 25.07)  # central Kunming
    with kunming.connect() as conn:
        inside = heat_points(conn, "risk_events", Filters(), HeatView(zoom=14, bbox=box))
        expected = conn.execute(text("""
            SELECT count(*) FROM risk_event e JOIN project p ON p.id = e.project_id
            WHERE e.project_id IN (SELECT project_id FROM policy
                                 WHERE status NOT IN ('returned', 'cancelled'))
              AND p.location && ST_MakeEnvelope(102.70, 25.02, 102.75, 25.07, 4326)""")
        ).scalar_one()
    assert _events(inside) == expected > 0
    assert all(box[1] <= lat <= box[3] and box[0] <= lon <= box[2] for lat, lon, _, _ in inside)


def test_claims_weigh_by_amount_scaled_to_the_heaviest_cell(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "claims", Filters())
        claims = conn.execute(text("""
            SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE po.status NOT IN ('returned', 'cancelled')""")).scalar_one()
    weights = [weight for _, _, weight, _ in points]
    assert _events(points) == claims > 0
    assert all(0 <= w <= 1 for w in weights) and max(weights) == 1.0
    assert len(set(weights)) > len(points) / 2  # amounts differ, so do the weights


def test_the_period_keeps_only_events_found_in_it(kunming):
    with kunming.connect() as conn:
        in_2024 = heat_points(conn, "risk_events", Filters.from_args({"period": "2024"}))
        every = heat_points(conn, "risk_events", Filters())
        expected = conn.execute(text("""
            SELECT count(*) FROM risk_event
            WHERE found_on BETWEEN '2024-01-01' AND '2024-12-31'
              AND project_id IN (SELECT project_id FROM policy
                                 WHERE status NOT IN ('returned', 'cancelled'))""")).scalar_one()
    assert 0 < _events(in_2024) == expected < _events(every)


def test_the_period_keeps_only_claims_reported_in_it(kunming):
    with kunming.connect() as conn:
        in_2025 = heat_points(conn, "claims", Filters.from_args({"period": "2025"}))
        expected = conn.execute(text("""
            SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE c.reported_on BETWEEN '2025-01-01' AND '2025-12-31'
              AND po.status NOT IN ('returned', 'cancelled')""")
        ).scalar_one()
    assert _events(in_2025) == expected > 0
    assert max(weight for _, _, weight, _ in in_2025) == 1.0  # scaled within the period


def test_the_insurer_filter_keeps_only_events_of_its_projects(kunming):
    with kunming.connect() as conn:
        insurer, events = conn.execute(text("""
            SELECT s.insurer_id, count(DISTINCT e.id) FROM policy_share s
            JOIN policy po ON po.id = s.policy_id AND po.status NOT IN ('returned', 'cancelled')
            JOIN risk_event e ON e.project_id = po.project_id
            GROUP BY s.insurer_id ORDER BY 2 DESC LIMIT 1""")).one()
        only = heat_points(conn, "risk_events", Filters(insurer=insurer))
        every = heat_points(conn, "risk_events", Filters())
    assert _events(only) == events < _events(every)


def test_an_unknown_heat_map_is_refused_by_name(kunming):
    with kunming.connect() as conn, pytest.raises(ValueError, match="premiums"):
        heat_points(conn, "premiums", Filters())


def test_the_heat_endpoint_answers_json_with_an_etag(client, kunming):
    response = client.get("/api/heat/risk_events?period=2024")
    assert response.status_code == 200 and response.headers["ETag"]
    with kunming.connect() as conn:
        assert response.get_json() == heat_points(
            conn, "risk_events", Filters.from_args({"period": "2024"}))
    again = client.get("/api/heat/risk_events?period=2024",
                           headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_bad_period_is_400_naming_it(client):
    response = client.get("/api/heat/claims?period=2024-13")
    assert response.status_code == 400
    assert "period" in response.get_json()["error"]


def test_the_endpoint_takes_the_view(client, kunming):
    path = "/api/heat/risk_events?z=14&bbox=102.70,25.02,102.75,25.07"
    response = client.get(path)
    assert response.status_code == 200
    with kunming.connect() as conn:
        assert response.get_json() == heat_points(
            conn, "risk_events", Filters(), HeatView(14, (102.70, 25.02, 102.75, 25.07)))


@pytest.mark.parametrize("query", ["z=99", "z=x", "bbox=1,2,3", "bbox=103,25,102,26",
                                   "bbox=nan,1,2,3"])
def test_a_bad_view_is_400_naming_it(client, query):
    response = client.get(f"/api/heat/claims?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_json()["error"]


def test_a_bad_view_is_refused_without_flask():
    with pytest.raises(FilterError, match="bbox"):
        HeatView.from_args({"bbox": "102,25,102,25"})


def test_an_unknown_heat_map_is_404(client):
    response = client.get("/api/heat/premiums")
    assert response.status_code == 404
    assert "premiums" in response.get_json()["error"]


# ---- the density equals the events counted one by one, for any view, period and tenant
def _insurers(kunming) -> list[int]:
    with kunming.connect() as conn:
        return list(conn.execute(text(
            "SELECT DISTINCT insurer_id FROM policy_share ORDER BY 1")).scalars())


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(zoom=st.integers(8, 16), year=st.sampled_from([None, "2022", "2024", "2025-Q2"]),
       west=st.floats(102.55, 102.8), south=st.floats(24.9, 25.15),
       size=st.floats(0.02, 0.4), who=st.integers(0, 8))
def test_cells_hold_exactly_the_events_counted_one_by_one(kunming, zoom, year, west, south,
                                                          size, who):
    from conftest import as_web
    from geo.tenancy import Tenant
    insurers = _insurers(kunming)
    tenant = (Tenant("regulator") if who >= len(insurers)
              else Tenant("insurer", insurers[who]))
    filters = Filters.from_args({"period": year} if year else {}).for_tenant(tenant)
    box = (west, south, west + size, south + size)
    with kunming.connect() as conn, conn.begin(), as_web(conn, tenant):
        cells = heat_points(conn, "risk_events", filters, HeatView(zoom, box))
        counted = conn.execute(text("""
            SELECT count(*), COALESCE(sum(s.weight), 0) FROM risk_event e
            JOIN project p ON p.id = e.project_id JOIN risk_severity s ON s.code = e.severity
            WHERE p.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)
              AND EXISTS (SELECT 1 FROM policy po LEFT JOIN policy_share ps
                            ON ps.policy_id = po.id AND ps.insurer_id = :insurer
                          WHERE po.project_id = p.id
                            AND po.status NOT IN ('returned', 'cancelled')
                            AND (CAST(:insurer AS int) IS NULL OR ps.insurer_id IS NOT NULL))
              AND (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
              AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)"""),
            {"w": box[0], "s": box[1], "e": box[2], "n": box[3], "insurer": filters.insurer,
             "date_from": filters.date_from, "date_to": filters.date_to}).one()
    assert _events(cells) == counted[0]
    assert sum(w for _, _, w, _ in cells) == pytest.approx(float(counted[1]))
