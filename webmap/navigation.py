"""The signed-in navigation, grouped by task (地图, 统计与报表, 办理与待办, 管理): one list,
the same on every page and on the maps, each link offered to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from urllib.parse import urlencode

from flask import request, url_for
from flask_login import current_user

from webmap.scope import CityRefused, current_city, open_cities

CITY = ("regulator", "planner", "admin")
BOOKS = (*CITY, "insurer")  # roles with a portfolio and a service rating to read


@dataclass(frozen=True)
class Link:
    title: str
    endpoint: str
    roles: tuple[str, ...] | None = None  # None: every signed-in role
    id: str = ""


GROUPS: tuple[tuple[str, tuple[Link, ...]], ...] = (
    ("地图", (Link("风险地图", "pages.risk_map", id="map-link"),
             Link("辖区概览", "areas.overview", BOOKS, "areas-link"),
             Link("搜索", "search.search_page", id="search-link"),
             Link("风险累积", "portfolio.portfolio_page", BOOKS, "portfolio-link"))),
    ("统计与报表", (Link("区县统计表", "pages.overview", id="overview-link"),
                Link("统计分析", "statistics.statistics_page", id="statistics-link"),
                Link("统计报表", "report_files.periodic_page", CITY, "periodic-link"),
                Link("应保未保", "statistics.uninsured_page", CITY, "uninsured-link"),
                Link("服务评价", "service.service_page", BOOKS, "service-link"))),
    ("办理与待办", (Link("待办任务", "workflow.tasks_page", id="tasks-link"),
                Link("投诉办理", "complaints.queue_page", CITY, "complaint-queue-link"),
                Link("本单位被投诉", "complaints.about_us", ("insurer", "tis", "developer"),
                     "complaint-about-link"),
                Link("数据上传", "uploads.upload_page", ("regulator", "admin", "insurer", "tis"),
                     "upload-link"))),
    ("管理", (Link("公开图层审核", "admin.publications", CITY, "publications-link"),
            Link("审计日志", "admin.audit_page", ("admin",), "audit-link"),
            Link("修改密码", "account.change_password", id="password-link"))),
)


def groups_for(role: str) -> list[dict]:
    """The groups and links ``role`` is offered (a group without a link is left out)."""
    found = []
    for title, links in GROUPS:
        shown = [{"title": link.title, "url": url_for(link.endpoint), "id": link.id}
                 for link in links if link.roles is None or role in link.roles]
        if shown:
            found.append({"title": title, "links": shown})
    return found


def nav_groups() -> list[dict]:
    """For the templates: the signed-in user's groups."""
    if not current_user.is_authenticated:
        return []
    return groups_for(current_user.account.role)


def city_switch() -> dict | None:
    """For the templates: the cities the signed-in user may switch between, by province,
    the one shown and the page to come back to (without ``?city=``); None with one city."""
    if not current_user.is_authenticated:
        return None
    cities = open_cities()
    if len(cities) < 2:
        return None
    try:
        shown = current_city()
    except CityRefused:  # the page says so (the error page has this bar too)
        shown = None
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "city"]
    back = request.path + ("?" + urlencode(args) if args else "")
    # by code: a province's cities share its first two digits, so each province is one run
    provinces = [(name, list(group)) for name, group in
                 groupby(sorted(cities, key=lambda c: c.code), key=lambda c: c.province)]
    return {"provinces": provinces, "current": shown, "next": back}


def register(app) -> None:
    app.add_template_global(nav_groups)
    app.add_template_global(city_switch)
