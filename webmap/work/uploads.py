"""Uploading import files: a page for people (`/imports`) and a JSON API for systems
(`POST /api/imports/<kind>`, API token only).

Both save the file (within UPLOAD_MAX_MB) and queue the same all-or-nothing import as
`riskmap import` as a background job (`webmap.importjobs`); the page and the API then poll
the job. The import runs through the owner's engine (it needs temp tables and writes many
tables, which the web role may not). Row-level security therefore does not guard it: who may
write which rows is checked by the import itself, in its transaction
(loaders/imports/authority.py); the role check here only gives a quick, clear 403 before a
file is read.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from geo import coords
from geo.tenancy import ROLE_ZH, Tenant
from loaders.imports import authority
from loaders.imports.pipeline import Problem
from loaders.imports.readers import without_paths
from loaders.imports.registry import KINDS
from webmap import importjobs, readpool
from webmap.auth import User, audit, csrf, load_token_user
from webmap.errors import json_error

if TYPE_CHECKING:
    from loaders.imports.run import ImportResult

bp = Blueprint("uploads", __name__)
MB = 1024 * 1024


@bp.record_once
def _limit_request_size(state) -> None:
    # MAX_CONTENT_LENGTH bounds every request of the app; only uploads come near it
    config = state.app.config
    if config.get("MAX_CONTENT_LENGTH") is None:
        config["MAX_CONTENT_LENGTH"] = int(config["UPLOAD_MAX_MB"]) * MB


class UploadForm(FlaskForm):
    kind = SelectField("数据类型", choices=[])
    file = FileField("文件", validators=[FileRequired("请选择要上传的文件 — choose a file")],
                     description="CSV、XLSX、GeoJSON、GeoPackage 或压缩的 Shapefile（.zip）")
    crs = StringField("坐标系", validators=[Optional(), Length(max=40)],
                      description="wgs84（默认）、cgcs2000、gcj02（高德/腾讯）、bd09（百度）"
                                  "或 EPSG:4543 等；GIS 文件自带坐标系")
    sheet = StringField("工作表/图层", validators=[Optional(), Length(max=100)])
    encoding = StringField("文字编码", validators=[Optional(), Length(max=40)],
                           description="CSV 的编码，默认自动识别（UTF-8、GBK）")
    dry_run = BooleanField("仅检查，不写入（试导入）")


@dataclass(frozen=True)
class Options:
    crs: str | None
    sheet: str | None
    encoding: str | None
    dry_run: bool


def options(crs, sheet, encoding, dry_run: bool) -> Options:
    """The import's options, blanks as None; ValueError names a bad coordinate system or
    encoding (the import would fail on them with no row to blame)."""
    crs, sheet, encoding = ((v or "").strip() or None for v in (crs, sheet, encoding))
    if crs:
        coords.parse_crs(crs)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"未知的文字编码「{encoding}」 — unknown encoding") from None
    return Options(crs, sheet, encoding, dry_run)


def refuse_role(tenant: Tenant, kind: str | None = None) -> None:
    """403 (and an audit line) unless ``tenant`` may upload ``kind`` (any kind if None)."""
    allowed = authority.kinds_for(tenant)
    if allowed and (kind is None or kind in allowed):
        return
    if request.method == "POST":  # an attempt to upload, not a look at the page
        audit("import.forbidden", kind or "", {"role": tenant.role}, actor=tenant.username)
    role = ROLE_ZH.get(tenant.role, tenant.role)
    if not allowed:
        abort(403, f"「{role}」账户无权上传数据 — a {tenant.role} account may not upload data.")
    titles = "、".join(KINDS[k].title for k in allowed)
    abort(403, f"「{role}」账户只能上传：{titles} — a {tenant.role} account may upload "
               f"{', '.join(allowed)} only.")


def sent_name(filename: str | None) -> str:
    """The file's name as the sender gave it (Chinese kept), without any folder."""
    name = PureWindowsPath(filename or "").name  # browsers on Windows may send C:\\…\\x.csv
    return re.sub(r"[\x00-\x1f\x7f]", "", name)[:200] or "upload"


def stored_name(name: str) -> str:
    """A safe name to save the upload under; the suffix is kept, as readers go by it."""
    path = Path(name)
    suffix = path.suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", path.suffix) else ""
    return (secure_filename(path.stem)[:80] or "upload") + suffix


class FolderUnusable(OSError):
    """UPLOAD_DIR cannot take the file (read-only, full): nothing was kept."""


def _save(storage: FileStorage, name: str) -> Path:
    """The upload, copied into UPLOAD_DIR under a fresh name; a failed copy leaves nothing."""
    folder = Path(current_app.config["UPLOAD_DIR"])
    path = folder / f"{secrets.token_hex(8)}-{stored_name(name)}"
    draft = path.with_name(path.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        storage.save(draft)
        os.replace(draft, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a read-only folder has none to remove
            draft.unlink(missing_ok=True)
        raise FolderUnusable(exc.errno, exc.strerror) from None
    return path


def queue_upload(kind: str, storage: FileStorage, opts: Options, user: User,
                 via: str) -> importjobs.Job:
    """Save the file and queue its import as a job of ``user``."""
    name = sent_name(storage.filename)
    path = _save(storage, name)
    upload = importjobs.Upload(kind, str(path), name, opts.crs, opts.sheet, opts.encoding,
                               opts.dry_run, user.tenant,
                               {"via": via, "address": request.remote_addr})
    try:
        return importjobs.submit(upload, _owner(user))
    except Exception:
        path.unlink(missing_ok=True)
        raise


def _owner(user: User) -> str:
    return f"user:{user.account.id}"


def report(result: ImportResult, dry_run: bool) -> dict:
    """The import's outcome as JSON: counts, and every problem with file, row and column."""
    def item(problem: Problem) -> dict:
        # a reader's message names the file as saved here; the sender knows it by its own name
        message = without_paths(problem.reason.replace(result.path.name, result.name))
        return {"file": result.name, "row": problem.row, "column": problem.column,
                "value": problem.value, "message": message}
    return {"file": result.name, "kind": result.kind, "dry_run": dry_run,
            "imported": result.written,
            "counts": {"rows_read": result.rows_read, "inserted": result.inserted,
                       "updated": result.updated, "unchanged": result.unchanged,
                       "rejected_rows": result.rejected_rows},
            "errors": [item(p) for p in result.errors],
            "warnings": [item(p) for p in result.warnings]}


def _kind_form(tenant: Tenant) -> UploadForm:
    form = UploadForm()
    form.kind.choices = [(k, KINDS[k].title) for k in authority.kinds_for(tenant)]
    return form


@bp.route("/imports", methods=["GET", "POST"])
@login_required
def upload_page():
    """The upload form; a POST queues the import and shows its job's page."""
    refuse_role(current_user.tenant)
    form = _kind_form(current_user.tenant)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("upload.html", form=form, report=None), status
    try:
        opts = options(form.crs.data, form.sheet.data, form.encoding.data, form.dry_run.data)
    except ValueError as exc:
        form.crs.errors = [str(exc)]
        return render_template("upload.html", form=form, report=None), 400
    job = queue_upload(form.kind.data, form.file.data, opts, current_user, "web")
    return redirect(url_for("uploads.job_page", job_id=job.id), 303)


def _finished(job) -> tuple[dict | None, dict]:
    """(the import's report or None while it runs, the job's state)."""
    shown = importjobs.state(job)
    if shown["state"] == "finished":
        readpool.wrote()  # the uploader's write has landed: it reads it from the primary
        return job.return_value(), shown
    if shown["error"]:
        problem = {"file": shown["file"], "row": None, "column": "", "value": "",
                   "message": shown["error"]}
        return {"file": shown["file"], "imported": False, "dry_run": False, "errors": [problem],
                "warnings": [], "counts": {"rows_read": shown["rows"], "inserted": 0,
                                           "updated": 0, "unchanged": 0, "rejected_rows": 0}
                }, shown
    return None, shown


@bp.get("/imports/jobs/<job_id>")
@login_required
def job_page(job_id: str):
    """An upload's job: its progress while it runs (the page polls), then its report."""
    job = importjobs.find(job_id, _owner(current_user))
    if job is None:
        abort(404, "没有这个导入任务，或它不是您上传的（报告保留时间已过？）")
    shown, state = _finished(job)
    form = _kind_form(current_user.tenant)
    status = 202 if shown is None else 422 if shown["errors"] else 200
    return render_template("upload.html", form=form, report=shown, job=state,
                           status_url=url_for("uploads.job_page", job_id=job.id)), status


def token_user() -> User | None:
    """The account of the request's API token; a session cookie alone is not enough."""
    if current_user.is_authenticated and current_user.via_token:
        return current_user
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return load_token_user(request)  # a session cookie came too: the token decides
    return None


FLAG = {"1", "true", "yes", "on"}


@bp.post("/api/imports/<kind>")
def api_import(kind: str):
    """Import one file sent as multipart field ``file``; crs, sheet, encoding and dry_run as
    query or form fields. 200 imported, 422 refused with problems, 400/401/403/404/413."""
    # This endpoint is exempt from CSRF (a system has no form to carry a CSRF token), so it
    # must not accept the session cookie: a browser sends that cookie with any cross-site
    # POST, and a page elsewhere could upload in a signed-in user's name. An Authorization
    # header is never added by a browser on its own, so a token cannot be ridden that way.
    user = token_user()
    if user is None:
        return jsonify(error="此接口只接受 API 令牌（Authorization: Bearer rmk_…），"
                             "不接受登录会话 — this API takes an API token only, "
                             "not a session cookie."), 401
    if kind not in KINDS:
        abort(404, f"没有这种数据类型「{kind}」，可用：{', '.join(KINDS)} — unknown kind")
    refuse_role(user.tenant, kind)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        abort(400, "缺少文件：请以 multipart 字段 file 上传 — send the file as multipart "
                   "field 'file'.")
    try:
        opts = options(request.values.get("crs"), request.values.get("sheet"),
                       request.values.get("encoding"),
                       request.values.get("dry_run", "").strip().lower() in FLAG)
    except ValueError as exc:
        abort(400, str(exc))
    job = queue_upload(kind, storage, opts, user, "api")
    return jsonify(job=importjobs.state(job),
                   status_url=url_for("uploads.api_job", job_id=job.id)), 202


@bp.get("/api/imports/jobs/<job_id>")
def api_job(job_id: str):
    """An import job: 202 with its progress while it runs, then 200 with the import's report
    (imported) or 422 (refused, with every problem's file, row and column)."""
    user = token_user()
    if user is None:
        return json_error("此接口只接受 API 令牌 — this API takes an API token only.", 401)
    job = importjobs.find(job_id, _owner(user))
    if job is None:
        return json_error(f"没有这个导入任务 — no import job {job_id}", 404)
    shown, state = _finished(job)
    if shown is None:
        return jsonify(job=state), 202
    return jsonify({**shown, "job": state}), 422 if shown["errors"] else 200


csrf.exempt(api_import)


@bp.errorhandler(FolderUnusable)
def folder_unusable(error: FolderUnusable):
    message = ("服务器的上传文件夹不可写或已满，文件未保存、未导入，请联系管理员。"
               "The upload folder is read-only or full; nothing was kept.")
    if request.path.startswith("/api/"):
        return json_error(message, 503)
    return render_template("error.html", title="无法保存文件", message=message), 503


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / MB
    message = (f"文件超过 {limit:g} MB 的上限，请拆分后再上传 — the upload is larger than the "
               f"{limit:g} MB limit; split the file.")
    if request.path.startswith("/api/"):
        return jsonify(error=message), 413
    return render_template("error.html", title="文件过大", message=message), 413
