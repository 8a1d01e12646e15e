"""Bytes on the wire before and after compression: the map page, the statistics page and a
district layer, as a browser loads them.

Run from the project root:  .venv/bin/python bench/bench_wire.py

A fresh database (on DATABASE_URL's server, else the private cluster) gets Kunming's demo and
one approved public layer, the app is served by waitress on 127.0.0.1, and each URL is fetched
three times over real HTTP as the regulator (API token): with ``Accept-Encoding: identity``,
``gzip`` (what a browser offers over plain HTTP) and ``br, gzip`` (over HTTPS). A page counts
with everything it loads from the service: its scripts, styles and, for the map, the layer
catalogue and the default district layer. Sizes are the bodies as sent (headers left out).
"""

from __future__ import annotations

import http.client
import re
import sys
from urllib.parse import urljoin

from bench_map import (
    CITY,
    busiest_insurer,
    fresh_database,
    issue_tokens,
    load_demo,
    server_url,
    serving,
)
from sqlalchemy.engine import Engine

from geo import store
from geo.tenancy import Tenant
from layers import catalogue, disclosure, publication
from layers.filters import Filters

CODINGS = ("identity", "gzip", "br, gzip")


def fetch(port: int, path: str, token: str, coding: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}",
                                             "Accept-Encoding": coding})
    answer = connection.getresponse()
    body = answer.read()  # as sent: http.client does not decode
    connection.close()
    if answer.status != 200:
        raise RuntimeError(f"{path}: {answer.status}")
    return answer.status, answer.getheader("Content-Encoding") or "identity", body


def loaded_by(port: int, page: str, token: str) -> list[str]:
    """The page and every script and style it loads from the service."""
    html = fetch(port, page, token, "identity")[2].decode()
    found = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/[^"]+)"', html)
    return [page] + [urljoin(page, url) for url in dict.fromkeys(found)]


def approve_public_layer(engine: Engine) -> int:
    regulator = Tenant("regulator", username="bench-regulator")
    with engine.begin() as conn:
        pub = publication.draft(conn, regulator, "premium_total", Filters(), "各区保费")
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city=CITY, rules=disclosure.Rules())
    return pub


def measure(port: int, token: str, title: str, paths: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'URL':<58} {'identity':>10} {'gzip':>10} {'br':>10}")
    totals = [0, 0, 0]
    for path in paths:
        sizes = []
        for i, coding in enumerate(CODINGS):
            _, used, body = fetch(port, path, token, coding)
            sizes.append(f"{len(body):,}" + ("" if used != "identity" or i == 0 else "*"))
            totals[i] += len(body)
        print(f"  {path[:58]:<58} {sizes[0]:>10} {sizes[1]:>10} {sizes[2]:>10}")
    ratios = [f"{t / totals[0]:.0%}" for t in totals]
    print(f"  {'total':<58} {totals[0]:>10,} {totals[1]:>10,} {totals[2]:>10,}")
    print(f"  {'of identity':<58} {ratios[0]:>10} {ratios[1]:>10} {ratios[2]:>10}")


def main() -> int:
    admin = store.make_engine(server_url(), isolation_level="AUTOCOMMIT")
    with fresh_database(admin, 1) as engine:
        load_demo(engine, 1)
        token = issue_tokens(engine, busiest_insurer(engine))["regulator"]
        pub = approve_public_layer(engine)
        with serving(engine.url.render_as_string(hide_password=False)) as port:
            default = f"/api/layers/{catalogue.DEFAULT_LAYER}/districts"
            measure(port, token, "map page (signed in) with its scripts, styles and first data",
                    loaded_by(port, "/", token) + ["/api/layers", default])
            measure(port, token, "statistics page with ECharts and its scripts",
                    loaded_by(port, "/statistics", token))
            measure(port, token, "district layers (GeoJSON) and tiles", [
                default, f"{default}?period=2024", f"/api/public/layers/{pub}",
                f"/tiles/public/{pub}/8/201/109.mvt", "/tiles/projects/9/402/219.mvt"])
    admin.dispose()
    print("\n* not compressed (under 500 bytes, or a type that is compressed already)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
