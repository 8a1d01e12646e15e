"""What an owner is told about the cover of their home: the owner's page and the
《工程质量潜在缺陷保险告知书》 (Suizhou 四（七）) as data.

The notice holds the insurance's scope (its sections), the periods and when the cover starts,
the claim process with the insurer's deadlines, the claims department and how to reach it, and
the owner's duty to notify changes; the developer hands it over with the 两书一证 at delivery.
Everything comes through the public's SECURITY DEFINER functions: the public reads no table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import programme
from geo.claims import building_cover
from geo.workflow import today

TITLE = "工程质量潜在缺陷保险告知书"
NOT_STARTED = "尚未起算"
TWO_BOOKS_ONE_CERTIFICATE = "《商品住宅使用说明书》《商品住宅质量保证书》《住宅质量合格证》"

# 四（七）: the insurer's deadlines, from the programme's rules.
INSURER_DEADLINES = (
    ("查勘", programme.SURVEY_DAYS, f"收到索赔申请后 {programme.SURVEY_DAYS} 日内派员现场查勘"),
    ("核定", programme.DECISION_DAYS,
     f"收到索赔申请后 {programme.DECISION_DAYS} 日内作出核定；情形复杂的，"
     f"{programme.DECISION_DAYS_COMPLEX} 日内作出核定，并将核定结果通知业主"),
    ("维修或赔偿", programme.SETTLEMENT_DAYS,
     f"属于保险责任的，自与业主达成赔偿协议之日起 {programme.SETTLEMENT_DAYS} 日内履行维修或"
     "赔偿义务"),
    ("不予赔偿通知", programme.REFUSAL_NOTICE_DAYS,
     f"不属于保险责任的，自作出核定之日起 {programme.REFUSAL_NOTICE_DAYS} 日内发出不予赔偿"
     "通知书，并说明理由"),
)

CLAIM_PROCESS = (
    ("发现缺陷", "在保险期间内发现房屋存在保险范围内的质量缺陷；保险期间届满后才交房的，"
     f"自交房之日起 {programme.LATE_DELIVERY_CLAIM_MONTHS} 个月内发现的缺陷也可以索赔。"),
    ("报案", "拨打保险公司理赔电话，或在风险地图平台“业主报案”页面（无需登录）提出索赔申请，"
     "说明房屋位置、缺陷部位和情况、联系人及电话。请保存好理赔案件号和查询密码。"),
    ("现场查勘", INSURER_DEADLINES[0][2] + "。影响基本生活的紧急情况，保险公司可在查勘结束前先行"
     "组织应急维修。"),
    ("核定", INSURER_DEADLINES[1][2] + "。"),
    ("维修或赔偿", INSURER_DEADLINES[2][2] + "。"),
    ("不予赔偿", INSURER_DEADLINES[3][2] + "。"),
    ("争议处理", "对是否属于保险责任或维修结果有争议的，业主可以与保险公司共同委托第三方工程质量"
     "检测鉴定机构检测鉴定；对赔偿金额有争议的，可以共同委托评估机构评估。"),
)

OWNER_DUTIES = (
    "房屋所有权转让（出售、赠与、继承等）的，保险保障随房屋一并转移；原业主应将本告知书交给新业主，"
    "并由业主及时将变更情况和新业主的联系方式通知保险公司。",
    "业主的姓名、联系电话或通讯地址变更的，应及时通知保险公司，以便查勘、维修和送达核定结果。",
    "改变房屋用途或者对房屋进行装修改造、拆改结构的，应事先通知保险公司；擅自拆改承重结构等造成的"
    "损坏，属于房屋所有权人或使用人的责任，不在保险责任范围内。",
    "发现质量缺陷后应及时报案，并采取必要措施防止损失扩大。",
)


def full_address(district: str | None, address: str | None) -> str:
    """A building's address as printed: the district in front only when the address does not
    already name it (demo and imported addresses often start with it).

    >>> full_address("五华区", "五华区人民西路100号"), full_address("五华区", "人民西路100号")
    ('五华区人民西路100号', '五华区人民西路100号')
    >>> full_address("五华区", "云南省昆明市五华区人民西路100号"), full_address("五华区", None)
    ('云南省昆明市五华区人民西路100号', '五华区')
    """
    district, address = (district or "").strip(), (address or "").strip()
    return address if district and district in address else district + address


def handover_line(developer: str) -> str:
    """The developer's handover sentence (四（七）).

    >>> handover_line("甲置业有限公司")[:16]
    '本告知书由建设单位甲置业有限公司'
    """
    return (f"本告知书由建设单位{developer}在业主办理房屋交付手续时，随“两书一证”"
            f"（{TWO_BOOKS_ONE_CERTIFICATE}）一并交付业主。")


def section_period(section: str, starts_on: dt.date | None, ends_on: dt.date | None) -> str:
    """A section's period as the owner reads it.

    >>> section_period("structure", dt.date(2022, 6, 30), dt.date(2032, 6, 30))
    '2022-06-30 至 2032-06-30'
    >>> section_period("structure", None, None)
    '尚未起算：自竣工验收合格两年之日起 10 年'
    >>> section_period("lift", None, None)
    '尚未起算：自竣工验收合格后按保险合同约定起算'
    """
    if starts_on is not None:
        return f"{starts_on} 至 {ends_on}"
    years = programme.SECTIONS_BY_CODE[section].period_years \
        if section in programme.SECTIONS_BY_CODE else None
    if years is None:
        return f"{NOT_STARTED}：自竣工验收合格后按保险合同约定起算"
    return f"{NOT_STARTED}：自竣工验收合格两年之日起 {years} 年"


def _sections(cover: list[dict]) -> list[dict]:
    order = {s.code: i for i, s in enumerate(programme.COVERAGE_SECTIONS)}
    rows = sorted(cover, key=lambda r: (order.get(r["section"], len(order)), r["policy_id"]))
    out = []
    for r in rows:
        kind = programme.SECTIONS_BY_CODE.get(r["section"])
        out.append({**r, "label": kind.name_zh if kind else r["section"],
                    "is_rider": bool(kind and kind.is_rider),
                    "period": section_period(r["section"], r["starts_on"], r["ends_on"])})
    return out


def cover_starts(building: dict, sections: list[dict]) -> str:
    """When the insurer's liability starts (四（二）): two years after completion acceptance."""
    dated = [s["starts_on"] for s in sections if s["starts_on"] and not s["is_rider"]]
    if dated:
        return (f"{min(dated)}（竣工验收合格之日 {building['completion_date']} 起满两年）。"
                "此前的质量缺陷由建设单位负责维修。")
    return ("项目尚未竣工验收：保险责任自竣工验收合格两年之日起开始，具体日期以竣工验收合格之日"
            "确定；此前的质量缺陷由建设单位负责维修。")


def _insurers(conn: Connection, project_id: int) -> list[dict]:
    rows = conn.execute(text("SELECT * FROM riskmap_public_insurers(:p)"), {"p": project_id})
    return [dict(r._mapping) for r in rows]


def public_building(conn: Connection, project_id: int) -> dict | None:
    """The building as the public may read it (name, community, address, district,
    developer, completion and delivery), or None without live cover."""
    found = conn.execute(text("SELECT * FROM riskmap_public_building(:p)"),
                         {"p": project_id}).first()
    return None if found is None else dict(found._mapping)


def owner_notice(conn: Connection, project_id: int) -> dict | None:
    """Everything the owner's page and the 告知书 print for an insured building; None when
    the building has no live cover."""
    cover = building_cover(conn, project_id)
    building = public_building(conn, project_id)
    if not cover or building is None:
        return None
    sections = _sections(cover)
    insurers = _insurers(conn, project_id)
    return {"title": TITLE, "building": building, "sections": sections, "insurers": insurers,
            "lead": [i for i in insurers if i["is_lead"]],
            "co_insurers": [i for i in insurers if not i["is_lead"]],
            "policies": sorted({i["policy_no"] for i in insurers}),
            "cover_starts": cover_starts(building, sections), "day": today(conn),
            "deadlines": INSURER_DEADLINES, "process": CLAIM_PROCESS, "duties": OWNER_DUTIES,
            "handover": handover_line(building["developer"])}
