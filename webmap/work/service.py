"""The service evaluation page (服务评价): owners' ratings of closed claims, reopened claims and
the repairers' record, the insurers' ratings of the TIS. For the city's staff and insurers; the
reader's row security and filters apply (an insurer sees its own portfolio)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from geo import programme
from geo.tenancy import CITY_ROLES
from layers import reports, service
from layers.overview import map_context
from webmap.auth import roles_only
from webmap.scope import connection, current_city, current_tenant, request_filters

bp = Blueprint("service", __name__)


@bp.get("/service")
@roles_only(*CITY_ROLES, "insurer")
def service_page():
    city = current_city()
    filters = request_filters()
    with connection() as conn:
        section = service.service_section(conn, city, filters)
        tables = {"insurers": service.insurers(conn, city, filters),
                  "tis": service.tis(conn, city, filters),
                  "repairers": service.repairers(conn, city, filters)}
        choices = map_context(conn, city, current_tenant())
        labels = reports.filter_labels(conn, filters)
    return render_template("service.html", section=section, tables=tables, choices=choices,
                           args=request.args, labels=labels,
                           reopen_days=programme.REOPEN_DAYS)
