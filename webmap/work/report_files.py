"""Report downloads: a district's report and the periodic statistics report, made in the
background (`webmap.reports.jobs`) while the page shows their progress.

A POST starts a report and answers 202 with the job's URLs; the page polls the status and
then fetches the file. The report is read as the account that asked for it, so it holds only
what that account may see.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from geo.tenancy import CITY_ROLES
from layers import reports
from layers.filters import FilterError, shown
from webmap.auth import roles_only
from webmap.errors import json_error
from webmap.reports import queued
from webmap.reports.formats import DISTRICT_FORMATS, FORMATS, PERIODIC_FORMATS, Format
from webmap.reports.formats import report_filename as filename_of
from webmap.reports.jobs import jobs_of
from webmap.scope import connection, current_city, current_tenant, request_filters

bp = Blueprint("report_files", __name__)


def _format(allowed: tuple[str, ...]) -> Format:
    fmt = request.args.get("format", "pdf")
    if fmt not in allowed:
        raise FilterError(f"format={shown(fmt)}: one of {', '.join(allowed)}")
    return FORMATS[fmt]


def _owner() -> str:
    return f"user:{current_user.get_id()}"


def _started(job) -> tuple[Response, int]:
    return jsonify(
        job=job.as_json(),
        status_url=url_for("report_files.job_status", job_id=job.id),
        file_url=url_for("report_files.job_file", job_id=job.id)), 202


def _jobs(app):
    """Where reports are made: threads of this process, or RQ job workers (REPORT_QUEUE)."""
    if app.config["REPORT_QUEUE"] == "rq":
        return queued.QueuedReports(app)
    return jobs_of(app)


def _start(recipe: queued.Recipe, filename: str) -> tuple[Response, int]:
    """Queue a report, made as the asking account sees it."""
    app, tenant = current_app._get_current_object(), current_tenant()
    mimetype = FORMATS[recipe.fmt].mimetype
    if app.config["REPORT_QUEUE"] == "rq":
        return _started(_jobs(app).submit(_owner(), filename, mimetype, recipe, tenant))

    def work(progress):
        with app.app_context():
            return queued.make(recipe, tenant, progress)

    return _started(jobs_of(app).submit(_owner(), filename, mimetype, work))


@bp.post("/reports/district/<code>")
@login_required
def start_district(code: str):
    city, fmt, filters = current_city(), _format(DISTRICT_FORMATS), request_filters()
    with connection() as conn:
        name = conn.execute(text("SELECT name FROM district WHERE code = :c AND city_code = :city"),
                            {"c": code, "city": city}).scalar()
        labels = reports.filter_labels(conn, filters)
    if name is None:
        return json_error(f"no district {code} in this city", 404)
    filename = filename_of({"kind": "district", "district": {"code": code, "name": name},
                            "filters": labels}, fmt)
    return _start(queued.Recipe("district", fmt.id, city, code=code, filters=filters), filename)


@bp.get("/reports/periodic")
@roles_only(*CITY_ROLES)
def periodic_page():
    return render_template("periodic.html", formats=PERIODIC_FORMATS,
                           period=request.args.get("period", ""))


@bp.post("/reports/periodic")
@roles_only(*CITY_ROLES)
def start_periodic():
    city, fmt = current_city(), _format(PERIODIC_FORMATS)
    period = request.args.get("period", "").strip()
    reports.periodic_filters(period)  # refuses anything but a month or a quarter
    filename = filename_of({"kind": "periodic", "subtitle": f"统计期间 {period}"}, fmt)
    return _start(queued.Recipe("periodic", fmt.id, city, period=period), filename)


@bp.get("/reports/jobs/<job_id>")
@login_required
def job_status(job_id: str):
    job = _jobs(current_app).get(job_id, _owner())
    if job is None:
        return json_error(f"no report {job_id}", 404)
    return jsonify(job=job.as_json(),
                   file_url=url_for("report_files.job_file", job_id=job.id))


@bp.get("/reports/jobs/<job_id>/file")
@login_required
def job_file(job_id: str):
    jobs = _jobs(current_app)
    job = jobs.get(job_id, _owner())
    if job is None:
        return json_error(f"no report {job_id}", 404)
    if job.state != "done":
        return json_error(f"report {job_id} is {job.state}: {job.error or job.step}", 409)
    response = send_file(jobs.file_of(job), mimetype=job.mimetype, as_attachment=True,
                         download_name=job.filename, max_age=0)
    # RFC 5987: the Chinese file name survives every browser
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"report.{job.filename.rsplit('.', 1)[-1]}\"; "
        f"filename*=UTF-8''{quote(job.filename)}")
    return response

