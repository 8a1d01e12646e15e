"""The collections of the OGC API (Features and Tiles): what each holds, its properties (the
only names a filter, a sort or a property list may use) and the SQL that reads it.

Every collection is read through row security as the caller: the query runs on the web role
acting for the caller's tenant, so an insurer's `projects` are its own and the public has no
collection but the approved public layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.jurisdiction import area_params
from geo.tenancy import Tenant
from layers import catalogue, publication
from layers.districts import BASE_COLUMNS, SIMPLIFY_DEGREES
from layers.filters import Filters
from layers.sql import read_sql

PUBLIC_PREFIX = "public-"


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # string | integer | number | boolean | date
    title: str


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    properties: tuple[Property, ...]
    sql: str  # the SELECT (a column "geom" in EPSG:4326 and the id column)
    id_column: str = "id"
    datetime: str | None = None  # the date property ``datetime`` applies to
    geometry_type: str = "Point"
    tiles: bool = False  # served as OGC API Tiles too
    params: dict = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties)

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


def _props(*rows: tuple[str, str, str]) -> tuple[Property, ...]:
    return tuple(Property(*row) for row in rows)


PROJECTS = Collection(
    "projects", "承保项目 Insured projects",
    "每个可见项目一个点（报建号、名称、小区、区县、阶段、面积、造价、质量评级）。"
    "One point per residential project the caller may see.",
    _props(("id", "integer", "项目编号"), ("permit_no", "string", "报建号"),
           ("name", "string", "项目名称"), ("community", "string", "小区名称"),
           ("address", "string", "项目地址"), ("district_code", "string", "区县代码"),
           ("district", "string", "区县"), ("stage", "string", "项目阶段代码"),
           ("stage_zh", "string", "项目阶段"), ("gross_floor_area_m2", "number", "建筑面积（㎡）"),
           ("units", "integer", "户数"), ("construction_cost_yuan", "number", "建安造价（元）"),
           ("start_date", "date", "开工日期"), ("completion_date", "date", "竣工验收日期"),
           ("delivery_date", "date", "交付日期"), ("grade", "string", "质量评级")),
    "ogc_projects.sql", datetime="start_date", tiles=True)

RISK_EVENTS = Collection(
    "risk_events", "风险事件 Risk events",
    "可见项目的风险事件（类别、严重程度、状态、发现日期），位于其项目。"
    "Risk events found on the projects the caller may see, at the project.",
    _props(("id", "integer", "编号"), ("event_no", "string", "风险事件编号"),
           ("project_id", "integer", "项目编号"), ("project_name", "string", "项目名称"),
           ("district_code", "string", "区县代码"), ("category", "string", "类别代码"),
           ("category_zh", "string", "类别"), ("severity", "string", "严重程度代码"),
           ("severity_zh", "string", "严重程度"), ("status", "string", "状态代码"),
           ("status_zh", "string", "状态"), ("found_on", "date", "发现日期"),
           ("due_on", "date", "整改期限"), ("closed_on", "date", "销项日期")),
    "ogc_risk_events.sql", datetime="found_on")

CLAIMS = Collection(
    "claims", "理赔案件 Claims",
    "可见保单的理赔案件（不含业主姓名、电话、房号），位于其项目。"
    "Claims on the policies the caller may see, without the owners' personal data.",
    _props(("id", "integer", "编号"), ("claim_no", "string", "案件号"),
           ("policy_id", "integer", "保单编号"), ("policy_no", "string", "保单号"),
           ("project_id", "integer", "项目编号"), ("project_name", "string", "项目名称"),
           ("district_code", "string", "区县代码"), ("section", "string", "保险责任代码"),
           ("section_zh", "string", "保险责任"), ("status", "string", "状态代码"),
           ("status_zh", "string", "状态"), ("is_complex", "boolean", "复杂案件"),
           ("is_emergency", "boolean", "紧急案件"), ("reported_on", "date", "报案日期"),
           ("decided_on", "date", "核定日期"), ("decision", "string", "核定结论"),
           ("settled_on", "date", "赔付/修复日期"),
           ("claimed_amount_yuan", "number", "索赔金额（元）"),
           ("paid_amount_yuan", "number", "赔付金额（元）")),
    "ogc_claims.sql", datetime="reported_on")

TENANT_COLLECTIONS = (PROJECTS, RISK_EVENTS, CLAIMS)


def districts(tenant: Tenant, filters: Filters, city: str) -> Collection:
    """The city's districts with every district indicator the caller's role may see, over the
    filters' period (and, for an insurer, its own portfolio at its share)."""
    layers = [layer for layer in catalogue.DISTRICT_LAYERS if tenant.role in layer.visible_to
              or tenant.sees_all]
    metrics = ", ".join(f"({layer.metric_sql}) AS {layer.id}" for layer in layers)
    # the base sums too, where no indicator of the same name gives them already
    base = [c for c in BASE_COLUMNS if c not in {layer.id for layer in layers}]
    # the expressions are the catalogue's own text; values stay bound parameters
    sql = (read_sql("scope.sql") + read_sql("district_metrics.sql")
           + f"SELECT trim(b.code) AS code, d.name, {', '.join(f'b.{c}' for c in base)}, "  # noqa: S608
           f"{metrics}, ST_SimplifyPreserveTopology(d.boundary, {SIMPLIFY_DEGREES}) AS geom "
           "FROM district_base b JOIN district d ON d.code = b.code")
    props = [("code", "string", "区县代码"), ("name", "string", "区县")]
    props += [(c, "number", c) for c in base]
    props += [(layer.id, "number", f"{layer.title_zh}（{layer.unit}）" if layer.unit
               else layer.title_zh) for layer in layers]
    return Collection(
        "districts", "区县指标 Districts",
        "全市各区县的边界与全部区县指标；period（年、季度或月）或 from/to 选期间。"
        "Every district with every indicator; choose the period with period= or from/to.",
        _props(*props), sql, id_column="code", geometry_type="MultiPolygon",
        params={**filters.params(), "city": city})


CELL_M = 1000  # the concentration grid's default cell, as on the portfolio page


def concentration(tenant: Tenant, city: str, zone: int, cell_m: int = CELL_M) -> Collection:
    """The concentration grid of the live policies' exposure: an insurer's own (at its share;
    net of reinsurance too), the market's for the city's staff; ``cell_m`` metres square cells
    of the city's Gauss-Krüger ``zone``."""
    insurer = tenant.organisation_id if tenant.role == "insurer" else None
    sql = "WITH exposure AS (" + read_sql("exposure.sql") + ")" + read_sql(
        "concentration_cells.sql")
    return Collection(
        "concentration", "风险累积网格 Concentration grid",
        f"有效保单保额按 {cell_m} 米方格累计（本地 CGCS2000 高斯-克吕格 EPSG:{zone}）；保险公司为"
        "自身份额，监管为全市场；cell= 选格子大小（100–10000 米）。"
        "Exposure of the live policies by square grid cell; choose the size with cell=.",
        _props(("cell", "string", "网格编号（列_行）"), ("cell_m", "integer", "网格边长（米）"),
               ("projects", "integer", "项目数"), ("policies", "integer", "保单数"),
               ("gross_wan", "number", "总保额（万元）"),
               ("own_wan", "number", "自留额（万元，按共保份额）"),
               ("net_wan", "number", "净自留额（万元，扣除再保）")),
        sql, id_column="cell", geometry_type="Polygon", tiles=True,
        params={**area_params(city), "insurer": insurer, "district": None, "cell_m": cell_m,
                "epsg": zone, **dict.fromkeys(("west", "south", "east", "north"))})


def _sees_exposure(tenant: Tenant) -> bool:
    return tenant.role == "insurer" or tenant.sees_all


def public_layer(pub: dict) -> Collection:
    """An approved public layer: its frozen district values."""
    return Collection(
        f"{PUBLIC_PREFIX}{pub['id']}", f"公开图层：{pub['title']}",
        f"经住建局审核公开的区县图层（{pub['layer_title']}）；隐藏的数值为空。"
        "An approved public district layer (hidden values are null).",
        _props(("code", "string", "区县代码"), ("name", "string", "区县"),
               ("value", "number", pub["layer_title"]),
               ("suppressed", "boolean", "数值已隐藏")),
        "ogc_public_layer.sql", id_column="code", geometry_type="MultiPolygon",
        params={"publication_id": pub["id"]})


def for_tenant(conn: Connection, tenant: Tenant, filters: Filters, city: str,
               zone: int, cell_m: int = CELL_M) -> list[Collection]:
    """The collections ``tenant`` may read: the public only the approved public layers, the
    concentration grid only insurers and the city's staff."""
    public = [public_layer(pub) for pub in publication.public_layers(conn)]
    if tenant.is_public:
        return public
    grid = [concentration(tenant, city, zone, cell_m)] if _sees_exposure(tenant) else []
    return [*TENANT_COLLECTIONS, districts(tenant, filters, city), *grid, *public]


def find(conn: Connection, tenant: Tenant, collection_id: str, filters: Filters,
         city: str, zone: int, cell_m: int = CELL_M) -> Collection | None:
    """One collection ``tenant`` may read, or None (unknown, or not the caller's to read)."""
    if collection_id.startswith(PUBLIC_PREFIX):
        number = collection_id.removeprefix(PUBLIC_PREFIX)
        if not number.isdigit() or len(number) > 9:
            return None
        row = conn.execute(text(
            "SELECT 1 FROM layer_publication WHERE id = :id AND status = 'approved'"),
            {"id": int(number)}).first()
        if row is None:
            return None
        return next(c for c in for_tenant(conn, Tenant.public(), filters, city, zone)
                    if c.id == collection_id)
    if tenant.is_public:
        return None
    if collection_id == "districts":
        return districts(tenant, filters, city)
    if collection_id == "concentration":
        return concentration(tenant, city, zone, cell_m) if _sees_exposure(tenant) else None
    return tenant_collection(tenant, collection_id)


def tenant_collection(tenant: Tenant, collection_id: str) -> Collection | None:
    """A collection every signed-in caller reads the same way (projects, risk events, claims:
    row security narrows the rows), found without asking the store: a tile of it then costs
    no query before its own."""
    if tenant.is_public:
        return None
    return next((c for c in TENANT_COLLECTIONS if c.id == collection_id), None)


def is_tenant_collection(collection_id: str) -> bool:
    """Whether the collection exists for a signed-in caller (the public is told to sign in)."""
    return collection_id in ("districts", "concentration",
                             *(c.id for c in TENANT_COLLECTIONS))
