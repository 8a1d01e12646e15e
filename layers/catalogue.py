"""The layer catalogue: every map layer defined once.

Pages, APIs and reports read this catalogue. A district layer's metric is a SQL
expression over the base aggregates of ``sql/district_metrics.sql``; the
expressions are the code's own text, never the user's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from branca.utilities import color_brewer

from geo import programme
from layers import indicators

GROUPS = {
    "premium": "承保", "risk": "风险", "claims": "理赔", "projects": "项目",
    "heat": "热力", "concentration": "集中度",
}
INTERNAL_ROLES = ("regulator", "insurer", "tis", "developer", "contractor", "supervisor",
                  "planner", "admin")
DATE_BASIS = {"policy": "保单签发日期", "risk_event": "风险事件发现日期", "claim": "报案日期",
              "complaint": "投诉受理日期", "grade": "当前评级（不随期间变化）"}
NO_DATA_COLOUR = "#d9d9d9"


@dataclass(frozen=True)
class Layer:
    id: str
    title_zh: str
    title_en: str
    group: str
    kind: str                      # district | heat | points
    unit: str = ""
    metric_sql: str = ""           # district layers: expression over district_metrics columns
    classification: str = "quantiles"   # quantiles | natural_breaks | fixed
    breaks: tuple[float, ...] = ()      # upper bounds for "fixed"
    ramp: str = "Blues"                 # ColorBrewer scheme
    reverse: bool = False               # low values are the bad ones
    decimals: int = 0
    date_basis: str = "policy"
    visible_to: tuple[str, ...] = INTERNAL_ROLES
    publishable: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)
    indicator: str = ""                 # its key in layers.indicators (district layers)

    def colours(self, k: int = 5) -> list[str]:
        colours = color_brewer(self.ramp, n=max(k, 3))[: max(k, 3)]
        return list(reversed(colours)) if self.reverse else colours

    def as_json(self) -> dict:
        return {
            "id": self.id, "title_zh": self.title_zh, "title_en": self.title_en,
            "group": self.group, "group_zh": GROUPS[self.group], "kind": self.kind,
            "unit": self.unit, "classification": self.classification,
            "date_basis": self.date_basis, "date_basis_zh": DATE_BASIS.get(self.date_basis, ""),
            "publishable": self.publishable, "description": self.description,
            "indicator": self.indicator, **self.extra,
        }


def _district(id_, key, en, group, sql, **kw) -> Layer:
    """A district layer of indicator ``key``: its name, unit and definition come from there."""
    ind = indicators.get(key)
    return Layer(id_, ind.name, en, group, "district", ind.unit, sql,
                 description=ind.definition, indicator=key, **kw)


PREMIUM = (
    _district("premium_total", "premium", "Total premium", "premium",
              "premium_yuan / 10000.0", decimals=1, publishable=True),
    # ratios take premium and its base at the same share (an insurer's own share)
    _district("premium_per_m2", "premium_per_m2", "Premium per m²", "premium",
              "premium_yuan / NULLIF(rated_area_m2, 0)", decimals=1, publishable=True),
    _district("average_rate", "rate", "Average premium rate", "premium",
              "premium_yuan / NULLIF(rated_cost_yuan, 0) * 100", decimals=3, publishable=True),
    _district("sum_insured", "sum_insured", "Sum insured", "premium",
              "sum_insured_yuan / 10000.0", decimals=0, publishable=True),
    _district("insured_area", "insured_area", "Insured floor area", "premium",
              "insured_area_m2 / 10000.0", decimals=2, publishable=True),
    _district("projects", "projects", "Insured projects", "premium", "projects",
              publishable=True),
    _district("cost_per_m2", "cost_per_m2", "Average construction cost per m²", "premium",
              "construction_cost_yuan / NULLIF(insured_area_m2, 0)", ramp="Greens",
              publishable=True),
)
RISK = (
    _district("risk_events", "risk_events", "Risk events", "risk", "risk_events",
              ramp="Oranges", date_basis="risk_event", publishable=True),
    _district("severe_risk_events", "severe_risk_events", "Severe risk events", "risk",
              "severe_risk_events", ramp="Reds", date_basis="risk_event", publishable=True),
    _district("open_risk_events", "open_risk_events", "Open risk events", "risk",
              "open_risk_events", ramp="Reds", date_basis="risk_event", publishable=True),
    _district("rectification_rate", "rectification_rate", "Rectification rate", "risk",
              "closed_risk_events * 100.0 / NULLIF(risk_events, 0)", classification="fixed",
              # red (low) to blue (high): ColorBrewer's colour-blind-safe diverging scheme
              breaks=(80, 90, 95, 98, 100), ramp="RdYlBu", decimals=1,
              date_basis="risk_event", publishable=True),
    _district("risk_events_per_10k_m2", "risk_events_per_10k_m2", "Risk events per 10,000 m²",
              "risk", "risk_events * 10000.0 / NULLIF(floor_area_m2, 0)",
              ramp="Oranges", decimals=2, date_basis="risk_event", publishable=True),
    _district("grade_mix", "grade_mix", "Projects graded C or D", "risk",
              "graded_c_or_d * 100.0 / NULLIF(graded_projects, 0)", classification="fixed",
              breaks=(10, 20, 30, 50, 100), ramp="Reds", decimals=1, date_basis="grade"),
)
CLAIMS = (
    _district("claims", "claims", "Claims", "claims", "claims", ramp="Purples",
              date_basis="claim", publishable=True),
    _district("paid", "paid", "Amount paid", "claims", "paid_yuan / 10000.0",
              ramp="Purples", decimals=1, date_basis="claim", publishable=True),
    _district("claims_per_1000_units", "claims_per_1000_units", "Claims per 1,000 units",
              "claims", "claims * 1000.0 / NULLIF(units, 0)", ramp="Purples", decimals=1,
              date_basis="claim", publishable=True),
    _district("loss_ratio", "loss_ratio", "Loss ratio", "claims",
              "paid_yuan * 100.0 / NULLIF(earned_premium_yuan, 0)", classification="fixed",
              breaks=(20, 40, 60, 80, 100), ramp="YlOrRd", decimals=1, date_basis="claim",
              publishable=True),
    _district("deadline_breaches", "deadline_breaches", "Deadline breaches", "claims",
              "deadline_breaches", ramp="Reds", date_basis="claim"),
    _district("complaints", "complaints", "Complaints received", "claims", "complaints",
              ramp="Purples", date_basis="complaint"),
)
OTHER = (
    Layer("heat_risk_events", "风险事件热力", "Risk event heat", "heat", "heat",
          ramp="YlOrRd", date_basis="risk_event",
          description="按严重程度加权（" + "、".join(
              f"{programme.RISK_SEVERITIES[k]}{w}" for k, w in programme.SEVERITY_WEIGHTS.items())
          + "）", extra={"heat_max": max(programme.SEVERITY_WEIGHTS.values())}),
    Layer("heat_claims", "理赔热力", "Claim heat", "heat", "heat", ramp="Purples",
          date_basis="claim", description="按赔付金额加权（最大者为1）", extra={"heat_max": 1}),
    Layer("project_points", "项目分布", "Insured projects", "projects", "points", unit="个",
          description="红点：有未销项风险事件；蓝点：无；缩小时圆圈为网格内项目数"),
    Layer("project_grades", "项目质量评级", "Project quality grades", "projects", "points",
          description="A 绿、B 蓝、C 橙、D 红，灰为尚未评级（评级规则见项目页）",
          extra={"style": "grade"}),
)

LAYERS: tuple[Layer, ...] = PREMIUM + RISK + CLAIMS + OTHER
BY_ID = {layer.id: layer for layer in LAYERS}
assert len(BY_ID) == len(LAYERS), "layer ids must be unique"
DISTRICT_LAYERS = tuple(layer for layer in LAYERS if layer.kind == "district")
DEFAULT_LAYER = "premium_total"


def get(layer_id: str) -> Layer:
    """The layer with this id; KeyError names it otherwise."""
    try:
        return BY_ID[layer_id]
    except KeyError:
        raise KeyError(f"no layer {layer_id!r}") from None
