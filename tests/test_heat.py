"""Heat maps: where the risk events and the claims are, weighted by how much they matter."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text

from layers.filters import Filters
from layers.heat import heat_points

# "in scope" below: on a policy in force (the scope drops returned and cancelled policies)


def test_risk_events_weigh_as_much_as_their_severity(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "risk_events", Filters())
        by_weight = dict(conn.execute(text("""
            SELECT CAST(s.weight AS float8), count(*) FROM risk_event e
            JOIN risk_severity s ON s.code = e.severity
            WHERE e.project_id IN (SELECT project_id FROM policy
                                   WHERE status NOT IN ('returned', 'cancelled'))
            GROUP BY s.weight""")).all())
    assert Counter(weight for _, _, weight in points) == by_weight
    assert set(by_weight) == {1.0, 3.0, 9.0}  # the demo has every severity


def test_points_are_lat_lon_in_the_city_rounded_to_a_tenth_of_a_metre(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "risk_events", Filters())
        lat, lon = conn.execute(text("""
            SELECT ST_Y(p.location), ST_X(p.location) FROM risk_event e
            JOIN project p ON p.id = e.project_id ORDER BY e.id LIMIT 1""")).one()
    assert points[0][:2] == [round(lat, 6), round(lon, 6)]
    for point_lat, point_lon, _ in points:
        assert 24 < point_lat < 27 and 102 < point_lon < 104  # Leaflet.heat order: lat first
        assert round(point_lat, 6) == point_lat and round(point_lon, 6) == point_lon


def test_claims_weigh_by_amount_scaled_to_the_largest(kunming):
    with kunming.connect() as conn:
        points = heat_points(conn, "claims", Filters())
        claims = conn.execute(text("""
            SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE po.status NOT IN ('returned', 'cancelled')""")).scalar_one()
        # paid once something is paid, claimed until then
        largest = conn.execute(text("""
            SELECT ST_Y(p.location), ST_X(p.location) FROM claim c
            JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
            WHERE po.status NOT IN ('returned', 'cancelled')
            ORDER BY CASE WHEN c.paid_amount_yuan > 0 THEN c.paid_amount_yuan
                          ELSE c.claimed_amount_yuan END DESC LIMIT 1""")).one()
    weights = [weight for _, _, weight in points]
    assert len(points) == claims > 0
    assert all(0 <= w <= 1 for w in weights) and max(weights) == 1.0
    assert len(set(weights)) > claims / 2  # amounts differ, so do the weights
    heaviest = next(point for point in points if point[2] == 1.0)
    assert heaviest[:2] == [round(largest[0], 6), round(largest[1], 6)]


def test_the_period_keeps_only_events_found_in_it(kunming):
    with kunming.connect() as conn:
        in_2024 = heat_points(conn, "risk_events", Filters.from_args({"period": "2024"}))
        every = heat_points(conn, "risk_events", Filters())
        expected = conn.execute(text("""
            SELECT count(*) FROM risk_event
            WHERE found_on BETWEEN '2024-01-01' AND '2024-12-31'
              AND project_id IN (SELECT project_id FROM policy
                                 WHERE status NOT IN ('returned', 'cancelled'))""")).scalar_one()
    assert 0 < len(in_2024) == expected < len(every)


def test_the_period_keeps_only_claims_reported_in_it(kunming):
    with kunming.connect() as conn:
        in_2025 = heat_points(conn, "claims", Filters.from_args({"period": "2025"}))
        expected = conn.execute(text("""
            SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE c.reported_on BETWEEN '2025-01-01' AND '2025-12-31'
              AND po.status NOT IN ('returned', 'cancelled')""")
        ).scalar_one()
    assert len(in_2025) == expected > 0
    assert max(weight for _, _, weight in in_2025) == 1.0  # scaled within the period


def test_the_insurer_filter_keeps_only_events_of_its_projects(kunming):
    with kunming.connect() as conn:
        insurer, events = conn.execute(text("""
            SELECT s.insurer_id, count(DISTINCT e.id) FROM policy_share s
            JOIN policy po ON po.id = s.policy_id AND po.status NOT IN ('returned', 'cancelled')
            JOIN risk_event e ON e.project_id = po.project_id
            GROUP BY s.insurer_id ORDER BY 2 DESC LIMIT 1""")).one()
        only = heat_points(conn, "risk_events", Filters(insurer=insurer))
        every = heat_points(conn, "risk_events", Filters())
    assert len(only) == events < len(every)


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


def test_an_unknown_heat_map_is_404(client):
    response = client.get("/api/heat/premiums")
    assert response.status_code == 404
    assert "premiums" in response.get_json()["error"]
