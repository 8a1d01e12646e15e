"""The city's staff pages: the approval of public layers, and the audit log (admins)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from geo import audit as audit_log
from geo.tenancy import CITY_ROLES
from layers import disclosure, publication
from layers.filters import FilterError, Filters
from layers.overview import map_context
from webmap.auth import audit, roles_only
from webmap.scope import connection, current_city, current_tenant

bp = Blueprint("admin", __name__, url_prefix="/admin")


class PublicationForm(FlaskForm):
    layer = SelectField("图层", choices=[])
    title = StringField("标题", validators=[Optional(), Length(max=200)])
    period = StringField("期间", validators=[Optional(), Length(max=10)],
                         description="年（2024）、季度（2024-Q2）或月（2024-05），可空")
    stage = SelectField("建设阶段", choices=[], validators=[Optional()])


class StepForm(FlaskForm):
    reason = TextAreaField("理由", validators=[Optional(), Length(max=500)])


def rules() -> disclosure.Rules:
    return disclosure.Rules(min_projects=int(current_app.config["PUBLIC_MIN_PROJECTS"]),
                            dominance=float(current_app.config["PUBLIC_DOMINANCE"]))


def _publication_form() -> PublicationForm:
    form = PublicationForm()
    form.layer.choices = [(la.id, f"{la.title_zh}（{la.unit}）")
                          for la in publication.publishable_layers()]
    with connection() as conn:
        stages = map_context(conn, current_city())["stages"]
    form.stage.choices = [("", "全部")] + [(s["code"], s["name"]) for s in stages]
    return form


@bp.route("/publications", methods=["GET", "POST"])
@roles_only(*CITY_ROLES)
def publications():
    form = _publication_form()
    if form.validate_on_submit():
        try:
            filters = Filters.from_args({"period": form.period.data or "",
                                         "stage": form.stage.data or ""})
            with connection(write=True) as conn:
                pub_id = publication.draft(conn, current_tenant(), form.layer.data, filters,
                                           form.title.data, city=current_city())
        except (FilterError, publication.PublicationError) as exc:
            flash(str(exc))
        else:
            return redirect(url_for("admin.publication_page", pub_id=pub_id))
    with connection() as conn:
        items = publication.list_all(conn)
    status = 400 if form.errors or request.method == "POST" else 200
    return render_template("admin_publications.html", form=form, items=items), status


@bp.get("/publications/<int:pub_id>")
@roles_only(*CITY_ROLES)
def publication_page(pub_id: int):
    with connection() as conn:
        pub = publication.get(conn, pub_id)
        if pub is None:
            abort(404)
        shown = None
        if pub["status"] in ("draft", "submitted"):
            shown = publication.preview(conn, (pub["city"] or "").strip() or current_city(),
                                        pub["layer_id"],
                                        Filters.from_args(pub["filters"]), rules())
        frozen = publication.public_layer(conn, pub_id) if pub["status"] == "approved" else None
    steps = [to for (f, to), roles in publication.TRANSITIONS.items()
             if f == pub["status"] and current_tenant().role in roles]
    return render_template("admin_publication.html", pub=pub, preview=shown, frozen=frozen,
                           steps=steps, form=StepForm(), rules=rules(),
                           reasons=disclosure.REASONS_ZH, status_zh=publication.STATUS_ZH)


@bp.post("/publications/<int:pub_id>/<to>")
@roles_only(*CITY_ROLES)
def publication_step(pub_id: int, to: str):
    if to not in publication.STATUS_ZH:
        abort(400, f"no step {to[:40]!r}: one of " + ", ".join(publication.STATUS_ZH))
    form = StepForm()
    if not form.validate_on_submit():
        abort(400, "; ".join(sum(form.errors.values(), [])) or "bad form")
    try:
        with connection(write=True) as conn:
            publication.move(conn, current_tenant(), pub_id, to, reason=form.reason.data,
                             city=current_city(), rules=rules())
    except publication.PublicationError as exc:
        flash(str(exc))
        return redirect(url_for("admin.publication_page", pub_id=pub_id)), 303
    flash(f"已{publication.STATUS_ZH.get(to, to)}。")
    return redirect(url_for("admin.publication_page", pub_id=pub_id)), 303


@bp.get("/audit")
@roles_only("admin")
def audit_page():
    query = audit_log.AuditQuery.from_args(request.args)
    with connection() as conn:
        rows, total = audit_log.entries(conn, query)
    audit("audit.view", detail={"filters": query.as_args()})
    return render_template("admin_audit.html", rows=rows, total=total, query=query)
