"""Web pages for people: login, logout and the home page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import accounts, audit
from .audit import Actor
from .db import get_session
from .limits import limiter
from .models import User
from .passwords import password_matches

bp = Blueprint("web", __name__)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        email = form.email.data.strip().lower()
        user = None
        if accounts.EMAIL.match(email):
            user = session.scalars(select(User).where(User.email == email)).first()
        ok = password_matches(user.password_hash if user else None, form.password.data)
        actor = Actor(user=user if ok else None, ip=request.remote_addr)
        if ok and user.disabled:
            audit.record(
                session,
                actor,
                "login.refused",
                target_type="user",
                target_id=user.id,
                email=email,
                reason="disabled",
            )
            session.commit()
            form.email.errors.append("This account is disabled. Ask your administrator.")
        elif ok:
            login_user(user)
            audit.record(
                session,
                actor,
                "login.success",
                target_type="user",
                target_id=user.id,
                org_id=user.org_id,
            )
            session.commit()
            return redirect(url_for("web.index"))
        else:
            audit.record(
                session,
                Actor(user=None, ip=request.remote_addr),
                "login.failure",
                email=email[:254].replace("\x00", ""),
            )
            session.commit()
            form.password.errors.append("Wrong e-mail or password.")
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def index():
    return render_template("index.html", user=current_user)
