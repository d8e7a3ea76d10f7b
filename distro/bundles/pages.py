"""The "Offline bundles" page: a customer admin asks for a full bundle or one of what is
new since the last ready one, sees them being built, and downloads their files."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from distro.accounts.auth import page_access
from distro.bundles import services
from distro.bundles.models import Bundle
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.pagekit import ButtonForm, page_cursor
from distro.core.pagination import paginate

bp = Blueprint("bundle_pages", __name__)
PAGE = 50


@bp.get("/bundles")
@page_access("customer_admin")
def bundles(actor):
    session = get_session()
    rows, later = paginate(
        session,
        services.visible_bundles(actor),
        [Bundle.created_at, Bundle.id],
        PAGE,
        page_cursor(),
    )
    files = {b.id: services.files_of(session, b) for b in rows if b.status == "ready"}
    return render_template(
        "bundles.html",
        bundles=rows,
        files=files,
        later=later,
        last_ready=_last_ready(session, actor),
        button=ButtonForm(),
        customer=actor.org_id is not None,
    )


@bp.post("/bundles")
@page_access("customer_admin")
def ask(actor):
    form = ButtonForm()
    if not form.validate_on_submit() or actor.org_id is None:
        flash(_("Ask for a bundle from your organisation's page."), "error")
        return redirect(url_for("bundle_pages.bundles"))
    session = get_session()
    since = _last_ready(session, actor) if request.form.get("what") == "new" else None
    try:
        bundle = services.request_bundle(session, actor, actor.user.org, since)
    except DistroError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Bundle %(seq)s is being built; its files appear here when it is ready.",
                seq=bundle.seq,
            )
        )
    return redirect(url_for("bundle_pages.bundles"))


def _last_ready(session, actor) -> int | None:
    if actor.org_id is None:
        return None
    return session.scalar(
        select(func.max(Bundle.seq)).where(Bundle.org_id == actor.org_id, Bundle.status == "ready")
    )
