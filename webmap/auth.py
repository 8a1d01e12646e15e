"""Signing in and out: Flask-Login over server-side sessions (`webmap.sessions`),
CSRF-protected forms, rate-limited attempts counted in Redis; and API tokens
(``Authorization: Bearer …``) for systems that upload data.

Who signed in (and who failed to) goes to the audit log.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from geo import store
from geo.tenancy import CITY_ROLES, Tenant
from webmap import accounts, keystore, sessions
from webmap.scope import connection, current_tenant, open_cities

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


def address_key() -> str:
    """Counts per client address, in this service's part of the shared Redis (the limiter is
    one per process, and a test process runs many services side by side)."""
    return f"{current_app.config['REDIS_PREFIX']}:{get_remote_address()}"


def follow_key(field: str):
    """Counts of wrong secrets per client address *and* the number tried (form ``field``): a
    guesser elsewhere, or one trying other numbers, never locks an owner out of their own
    claim; the secret's 72 random bits make guessing across many addresses hopeless."""
    def key() -> str:
        number = request.form.get(field, "").strip().upper()[:40]
        return f"{address_key()}:{field}:{number}"
    return key


limiter = Limiter(key_func=address_key, default_limits=[])


def owner_limit() -> str:
    """How often one address may look a building up on the public owner's pages."""
    return current_app.config["OWNER_RATE_LIMIT"]


def _no_words() -> bool:
    # an empty search form costs nothing; every real lookup counts
    return request.endpoint in SEARCHES and not request.args.get("q", "").strip()


SEARCHES = ("owner.find", "public_claims.find_building", "complaints.new_complaint")
# one budget for every way of looking a building up: searching on any of the three pages, a
# building's page, its 告知书, its claim form
owner_lookup = limiter.shared_limit(owner_limit, scope="owner-lookup", exempt_when=_no_words)


class User(UserMixin):
    """The signed-in account, as Flask-Login carries it."""

    def __init__(self, account: accounts.Account, via_token: bool = False):
        self.account = account
        self.id = str(account.id)
        self.via_token = via_token

    @property
    def is_active(self) -> bool:
        return self.account.is_active

    @property
    def tenant(self) -> Tenant:
        return self.account.tenant()


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # a session ended elsewhere (sign-out, new password, disabled) or too old: signed out
    if not user_id.isdigit() or not sessions.is_current(user_id):
        return None
    with connection(tenant=Tenant.public()) as conn:
        account = accounts.get_account(conn, int(user_id))
    return User(account) if account and account.is_active else None


@login_manager.request_loader
def load_token_user(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    with connection(write=True, tenant=Tenant.public(), bookkeeping=True) as conn:
        account = accounts.account_for_token(conn, header.removeprefix("Bearer ").strip())
    return User(account, via_token=True) if account else None


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith(("/api/", "/tiles/")):
        return jsonify(error="请先登录。Sign in first (or send an API token)."), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def audit(action: str, target: str = "", detail: dict | None = None,
          actor: str | None = None) -> None:
    """Write who did what to the audit log (the signed-in account unless ``actor`` is given)."""
    user_id = None
    if actor is None and current_user.is_authenticated:
        actor, user_id = current_user.account.username, current_user.account.id
    with connection(write=True, tenant=Tenant.public(), bookkeeping=True) as conn:
        store.record_audit(conn, actor or "anonymous", action, target,
                           json.dumps({"address": request.remote_addr, **(detail or {})},
                                      ensure_ascii=False), user_id=user_id)


def _safe_next(target: str | None) -> str:
    # only a path of this site: never an open redirect to another host
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return request.script_root + target  # a path of the app, wherever it is mounted
    return _landing()


def _landing() -> str:
    """Where a sign-in with no page to go back to lands: the map of the jurisdiction — the
    overview of its cities when it holds more than one city of the store, else the city's."""
    if current_tenant().role in CITY_ROLES and len(open_cities()) > 1:
        return url_for("areas.overview")
    return url_for("pages.risk_map")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with connection(tenant=Tenant.public()) as conn:
            account = accounts.authenticate(conn, form.username.data, form.password.data)
        if account is not None:
            login_user(User(account))
            sessions.begin(account.id)
            audit("login")
            return redirect(_safe_next(request.args.get("next")))
        audit("login.failed", actor=form.username.data)
        flash("用户名或密码不正确，或账户已停用。")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    """Sign out: every session of the account ends, in every browser."""
    if current_user.is_authenticated and not current_user.via_token:
        audit("logout")
        sessions.end_all(current_user.account.id)
    logout_user()
    session.clear()
    return redirect(url_for("pages.risk_map"))


def init_app(app: Flask) -> None:
    sessions.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = keystore.limits_uri(app.config["REDIS_URL"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_blueprint(bp)
    # the JSON and tile endpoints that only read carry no form, so no CSRF token
    for blueprint in ("api", "tiles"):
        csrf.exempt(blueprint)


def roles_only(*roles: str):
    """Refuse (403) anyone signed in whose role is not one of ``roles``."""
    def wrap(view):
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_tenant().role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return wrap
