"""A signed-in user changes their own password (`/account/password`); every session of the
account ends with it, this one too, so the user signs in again with the new password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from webmap import accounts, sessions
from webmap.auth import audit, limiter
from webmap.db import get_engine

bp = Blueprint("account", __name__)


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("新密码", validators=[
        DataRequired(), Length(min=accounts.MIN_PASSWORD, max=200,
                               message=f"新密码至少 {accounts.MIN_PASSWORD} 个字符")])
    repeat = PasswordField("再次输入新密码", validators=[
        DataRequired(), EqualTo("new", message="两次输入的新密码不一致")])


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def change_password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_template("password.html", form=form), 400 if form.errors else 200
    account = current_user.account
    # the owner's engine: the web role may read accounts but never write them
    with get_engine().begin() as conn:
        if accounts.authenticate(conn, account.username, form.current.data) is None:
            form.current.errors = ["当前密码不正确"]
            return render_template("password.html", form=form), 401
        accounts.set_password(conn, account.username, form.new.data, actor=account.username)
    audit("password.change")
    sessions.end_all(account.id)
    logout_user()
    session.clear()
    flash("密码已修改，所有登录会话已结束，请用新密码重新登录。")
    return redirect(url_for("auth.login"), 303)
