"""Atom feeds of a product's packages, for feed readers (a Sparkle appcast or a GitLab
feed token, in spirit): `/feeds/{product}.atom?key=FEED_KEY`.

The feed key (`distro.accounts.feedkeys`) stands for its owner, so the feed holds what
that person may download, by the same entitlement rule as everywhere else; a product
beyond it is as unknown as one that does not exist. Every read is audited.
"""

from __future__ import annotations

from datetime import UTC

from feedgen.feed import FeedGenerator
from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from distro import audit
from distro.accounts import feedkeys
from distro.accounts.auth import not_a_page, page_access
from distro.accounts.feedkeys import feed_reader
from distro.core.db import get_session
from distro.core.errors import Unauthenticated
from distro.core.pagekit import ButtonForm, attempt
from distro.patches import catalogue
from distro.patches.entitlement import entitled_products
from distro.patches.models import Package

bp = Blueprint("feeds", __name__)
ENTRIES = 50


@bp.get("/feeds/<code>.atom")
@not_a_page
def product_feed(code: str):
    session = get_session()
    actor = feed_reader(session, request.args.get("key"))
    if actor is None:
        raise Unauthenticated(
            "this feed needs a valid feed key (?key=): create one on your Account page",
            code="invalid_feed_key",
        )
    product = catalogue.product_of(session, actor, code)  # 404 beyond the entitlement
    rows = session.scalars(
        catalogue.listing_query(session, actor, code)
        .order_by(Package.published_at.desc(), Package.id.desc())
        .limit(ENTRIES)
    ).all()
    audit.record(session, actor, "feed.read", target_type="product", target_id=product.id)
    session.commit()
    body = _atom(product, rows)
    return Response(body, mimetype="application/atom+xml", headers={"Cache-Control": "no-store"})


def _atom(product, packages: list[Package]) -> bytes:
    feed = FeedGenerator()
    feed.id(f"urn:distro:feed:{product.code}")
    feed.title(f"{product.name} ({product.code})")
    feed.link(href=url_for("package_pages.product", code=product.code, _external=True))
    feed.updated((packages[0].published_at if packages else product.created_at).replace(tzinfo=UTC))
    for package in reversed(packages):  # feedgen puts the last added entry first
        entry = feed.add_entry()
        entry.id(f"urn:distro:package:{package.id}")
        severity = f" [{package.severity}]" if package.severity != "none" else ""
        entry.title(
            f"{product.code} {package.version} {package.kind}: {package.filename}{severity}"
        )
        entry.updated(package.published_at.replace(tzinfo=UTC))
        entry.published(package.published_at.replace(tzinfo=UTC))
        entry.link(
            href=url_for(
                "package_pages.product", code=product.code, q=package.filename, _external=True
            )
        )
        for cve in package.cves:
            entry.category(term=cve)
        entry.content(_summary(package), type="text")
    return feed.atom_str(pretty=True)


def _summary(package: Package) -> str:
    lines = [f"{d['id']} {d['title']}" for d in package.defects]
    if package.cves:
        lines.append(", ".join(package.cves))
    if package.notes:
        lines.append(package.notes)
    return "\n".join(lines) or package.filename


@bp.post("/account/feed-key")
@page_access(fresh=True)
def new_key(actor):
    """A new feed key, shown on this page only (it is stored hashed)."""
    form, session = ButtonForm(), get_session()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("people.account"))
    key = feedkeys.create_feed_key(session, actor)
    session.commit()
    response = make_response(
        render_template("feed_key.html", key=key, products=entitled_products(session, actor))
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/feed-key/revoke")
@page_access()
def revoke_key(actor):
    if ButtonForm().validate_on_submit():
        attempt(
            lambda session: feedkeys.revoke_feed_key(session, actor),
            _("Your feed key is revoked; feed readers that use it get nothing now."),
        )
    return redirect(url_for("people.account"))
