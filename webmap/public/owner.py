"""The owner's channel, public and without an account (issue 9; Kunming 三（二）, Suizhou
四（七））: find my building, read who insures it, each section's period, when the cover starts,
the claim hotline, how to report and the insurer's deadlines, and download the
《工程质量潜在缺陷保险告知书》 as a PDF to hand over with the 两书一证.

Every request acts for the public tenant: ``geo.notice`` asks the SECURITY DEFINER functions.
The building search is the claim pages' (``geo.claims.find_buildings``): it needs what an
owner knows in full (building name, community, permit number or address), names buildings by
an opaque reference, and every lookup counts against OWNER_RATE_LIMIT per address, so the
public cannot walk or count the insured book.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from geo.claims import building_by_ref, cover_decision, find_buildings
from geo.notice import owner_notice
from geo.tenancy import Tenant
from webmap.auth import owner_lookup
from webmap.public.claims import chinese
from webmap.reports.charts import cjk_family
from webmap.scope import connection
from webmap.setting_checks import is_loopback

bp = Blueprint("owner", __name__)
MISSING = "没有找到这栋已投保的房屋，或其保单尚未生效。请从“业主服务”页面重新查找。"


@bp.get("/owner")
@owner_lookup
def find():
    words = request.args.get("q", "")
    with connection(tenant=Tenant.public()) as conn:
        buildings = find_buildings(conn, words)
    return render_template("owner.html", q=words, searched=bool(words.strip()),
                           buildings=buildings, notice=None)


def _notice(ref: str) -> dict:
    with connection(tenant=Tenant.public()) as conn:
        project_id = building_by_ref(conn, ref)
        notice = None if project_id is None else owner_notice(conn, project_id)
    if notice is None:
        abort(404, MISSING)
    return notice


@bp.get("/owner/<ref>")
@owner_lookup
def building(ref: str):
    notice = _notice(ref)
    cover = notice["sections"]
    for section in cover:
        decision = cover_decision(cover, section["section"], notice["day"])
        section["today"] = "保障中，可以报案" if decision.covered else chinese(decision.rule)
        section["covered"] = decision.covered
    return render_template("owner.html", q=request.args.get("q", ""), notice=notice, ref=ref)


def public_url(base: str, request_root: str, path: str, script_root: str = "") -> str | None:
    """The address an owner's phone reaches ``path`` at: under PUBLIC_BASE_URL when set, else
    under the address the request came to; None when that is this machine only.

    >>> public_url("https://idi.km.gov.cn/map", "http://127.0.0.1:5000/", "/map/claims/new/ab",
    ...            "/map")
    'https://idi.km.gov.cn/map/claims/new/ab'
    >>> public_url("", "https://idi.km.gov.cn/", "/claims/new/ab")
    'https://idi.km.gov.cn/claims/new/ab'
    >>> public_url("", "http://127.0.0.1:5000/", "/claims/new/ab") is None
    True
    """
    if base:  # the path is the app's own: under the configured base, without the app's prefix
        return base.rstrip("/") + path[len(script_root):]
    if is_loopback(urlsplit(request_root).hostname or ""):
        return None
    return request_root.rstrip("/") + path


def notice_pdf(notice: dict) -> bytes:
    """The 告知书 as A4 PDF bytes (WeasyPrint, Noto Sans CJK, no fetching but ``data:``)."""
    cjk_family()  # fail naming the font package rather than print empty boxes
    html = render_template("notice.html", n=notice)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


@bp.get("/owner/<ref>/notice.pdf")
@owner_lookup
def notice_file(ref: str):
    notice = _notice(ref)
    claim_url = public_url(current_app.config["PUBLIC_BASE_URL"], request.host_url,
                           url_for("public_claims.claim_form", ref=ref, _external=False),
                           request.script_root)
    if claim_url is None:
        current_app.logger.warning("告知书未印网上报案地址：请设置 PUBLIC_BASE_URL。The notice "
                                   "leaves out the claim address: set PUBLIC_BASE_URL")
    response = make_response(notice_pdf({**notice, "claim_url": claim_url}))
    name = f"{notice['title']}-{notice['building']['name']}.pdf"
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"notice.pdf\"; filename*=UTF-8''{quote(name)}")
    return response
