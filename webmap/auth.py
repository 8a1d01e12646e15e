"""Signing in and out: Flask-Login sessions, CSRF-protected forms, rate-limited attempts.

Who signed in (and who failed to) goes to the audit log.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from geo import store
from webmap import accounts
from webmap.db import get_engine

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], storage_uri="memory://")


class User(UserMixin):
    """The signed-in account, as Flask-Login carries it."""

    def __init__(self, account: accounts.Account):
        self.account = account
        self.id = str(account.id)

    @property
    def is_active(self) -> bool:
        return self.account.is_active


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    with get_engine().connect() as conn:
        account = accounts.get_account(conn, int(user_id))
    return User(account) if account else None


def _audit(actor: str, action: str) -> None:
    with get_engine().begin() as conn:
        store.record_audit(conn, actor, action, "web",
                           json.dumps({"address": request.remote_addr}))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with get_engine().connect() as conn:
            account = accounts.authenticate(conn, form.username.data, form.password.data)
        if account is not None:
            login_user(User(account))
            _audit(account.username, "login")
            return redirect(url_for("pages.risk_map"))
        _audit(form.username.data, "login.failed")
        flash("用户名或密码不正确，或账户已停用。")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        _audit(current_user.account.username, "logout")
    logout_user()
    return redirect(url_for("pages.risk_map"))


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_blueprint(bp)
    # the JSON and tile endpoints change nothing: no form, so no CSRF token to carry
    for blueprint in ("api", "tiles"):
        csrf.exempt(blueprint)
