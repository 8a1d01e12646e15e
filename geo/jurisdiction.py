"""Jurisdictions: which cities of the store a tenant may look at, and which one it sees first.

The city's staff oversee a district, a city, a province or the nation (a GB/T 2260 code;
row security keeps them inside it, ``0013_jurisdiction.sql``); an insurer, a TIS and the
parties see their own business wherever it is, so every city of the store is theirs to open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.sql import read_sql
from geo.tenancy import CITY_ROLES, NATION, Tenant


def code_prefix(code: str) -> str:
    """The district-code prefix a jurisdiction covers (as the store's
    riskmap_jurisdiction_prefix).

    >>> [code_prefix(c) for c in ("100000", "530000", "530100", "530102")]
    ['', '53', '5301', '530102']
    """
    if code == NATION:
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def city_of(code: str) -> str | None:
    """The city a jurisdiction lies in; None for a province or the nation.

    >>> city_of("530102"), city_of("530100"), city_of("530000"), city_of("100000")
    ('530100', '530100', None, None)
    """
    prefix = code_prefix(code)
    return prefix[:4] + "00" if len(prefix) >= 4 else None


def area_params(area: str) -> dict[str, str | None]:
    """Bound parameters of SQL that keeps to an area, ``(d.city_code = :city OR
    starts_with(d.code, :prefix))``: a city by its code, a province or the nation by their
    districts' code prefix (None for a city, so only its code counts).

    >>> area_params("530100")["prefix"], area_params("530000")["prefix"]
    (None, '53')
    >>> area_params("100000")
    {'city': '100000', 'prefix': ''}
    """
    prefix = code_prefix(area)
    return {"city": area, "prefix": prefix if len(prefix) < 4 else None}


@dataclass(frozen=True)
class City:
    code: str
    name: str
    province: str


def cities_for(conn: Connection, tenant: Tenant) -> list[City]:
    """The cities of the store ``tenant`` may open (the public: none; it sees the CITY
    setting's public map), by code."""
    if tenant.is_public:
        return []
    prefix = code_prefix(tenant.jurisdiction) if tenant.role in CITY_ROLES else ""
    rows = conn.execute(text(
        "SELECT city_code, min(city_name) AS name, min(province_name) AS province "
        "FROM district WHERE starts_with(code, :prefix) GROUP BY city_code ORDER BY city_code"),
        {"prefix": prefix})
    return [City(row.city_code.strip(), row.name, row.province) for row in rows]


def first_city(cities: list[City], tenant: Tenant, configured: str) -> str | None:
    """The city a tenant's pages open on: its own city when it oversees one (or a district
    of one), else the configured city when it may open it, else its first; None for staff
    whose jurisdiction holds no city of the store (they may open none).

    >>> km, qj = City("530100", "昆明市", "云南省"), City("530300", "曲靖市", "云南省")
    >>> first_city([km, qj], Tenant("regulator", jurisdiction="530302"), "530100")
    '530300'
    >>> first_city([km, qj], Tenant("regulator", jurisdiction="530000"), "530100")
    '530100'
    >>> first_city([qj], Tenant("regulator", jurisdiction="530000"), "530100")
    '530300'
    >>> first_city([], Tenant.public(), "530100")
    '530100'
    >>> first_city([], Tenant("regulator", jurisdiction="440300"), "530100") is None
    True
    """
    codes = [city.code for city in cities]
    own = city_of(tenant.jurisdiction) if tenant.jurisdiction else None
    for choice in (own, configured):
        if choice in codes:
            return choice
    if codes:
        return codes[0]
    return None if tenant.role in CITY_ROLES else configured


def overview_area(tenant: Tenant, asked: str | None) -> str | None:
    """The area whose cities (or provinces) an overview shows: ``asked`` (a GB/T 2260 code,
    or NATION) when the tenant's jurisdiction covers it, else None; by default the tenant's
    own jurisdiction (the nation for an insurer, a TIS or a party: their own business).

    >>> overview_area(Tenant("planner", jurisdiction="530000"), None)
    '530000'
    >>> overview_area(Tenant("planner", jurisdiction="530000"), "530100")
    '530100'
    >>> overview_area(Tenant("planner", jurisdiction="530000"), "100000") is None
    True
    >>> overview_area(Tenant("insurer", 3), "420000")
    '420000'
    >>> overview_area(Tenant("regulator", jurisdiction="530102"), None)
    '530100'
    """
    own = tenant.jurisdiction if tenant.role in CITY_ROLES else NATION
    # a district's staff look at their city's row (holding their district only)
    area = asked or city_of(own) or own
    if area != NATION and not (len(area) == 6 and area.isdigit() and area.endswith("00")):
        return None
    if area == city_of(own):
        return area
    return area if code_prefix(area).startswith(code_prefix(own)) else None


def overview_level(area: str, asked: str | None) -> str:
    """The level an overview of ``area`` lists: provinces for the nation, else cities
    (``asked`` "city" lists the nation's cities).

    >>> overview_level("100000", None), overview_level("100000", "city")
    ('province', 'city')
    >>> overview_level("530000", "province")
    'city'
    """
    return "province" if area == NATION and asked != "city" else "city"


def area_name(conn: Connection, area: str) -> str | None:
    """全国, a province's or a city's name; None when the store holds none of its districts."""
    if area == NATION:
        return "全国"
    column = "province_name" if area.endswith("0000") else "city_name"
    # the column is one of two of this code's own
    return conn.execute(text(f"SELECT min({column}) FROM district "  # noqa: S608
                             "WHERE starts_with(code, :prefix)"),
                        {"prefix": code_prefix(area)}).scalar()


def district_city(conn: Connection, code: str) -> str | None:
    """The city of district ``code``; None for a code the store does not hold."""
    city = conn.execute(text("SELECT city_code FROM district WHERE code = :c"),
                        {"c": code}).scalar()
    return city.strip() if city else None


def holds_districts(conn: Connection) -> bool:
    """Whether the store holds any district yet (a new install holds none)."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM district)")).scalar_one()


def refresh_area_outlines(conn: Connection, cities: Iterable[str] | None = None) -> None:
    """Write the outlines of ``cities`` (every city when None) and of their provinces from
    their districts as they are now (`area_outline`, migration 0014)."""
    postgis, geos = conn.execute(text(
        "SELECT postgis_lib_version(), postgis_geos_version()")).one()
    if version_of(postgis) < (3, 1) or version_of(geos) < (3, 9):
        raise RuntimeError(
            f"城市和省份的轮廓需要 PostGIS 3.1 及以上、GEOS 3.9 及以上（本库为 PostGIS {postgis}、"
            f"GEOS {geos}）。Outlines union on a grid: PostGIS >= 3.1 with GEOS >= 3.9.")
    cities = None if cities is None else sorted(set(cities))
    provinces = None if cities is None else sorted({code[:2] + "0000" for code in cities})
    conn.execute(text(read_sql("area_outline_refresh.sql")),
                 {"cities": cities, "provinces": provinces})


def version_of(text_: str) -> tuple[int, ...]:
    """A library's version as numbers to compare.

    >>> version_of("3.11.1-CAPI-1.17.1"), version_of("3.3.2") >= (3, 1)
    ((3, 11, 1), True)
    """
    return tuple(int(part) for part in text_.split("-")[0].split(".") if part.isdigit())
