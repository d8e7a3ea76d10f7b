"""Products: the catalogue's top level, created by operators and looked up by code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.services import lookup_code, validate_code, validate_name
from distro.core.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationError
from distro.core.versions import version_key
from distro.patches.models import Package, Product


def product_by_code(session: Session, code: object) -> Product | None:
    """The product with that code (full-width forms folded), or None."""
    lookup = lookup_code(code)
    if lookup is None:
        return None
    return session.scalars(select(Product).where(Product.code == lookup)).first()


def find_product(session: Session, code: object) -> Product:
    if not isinstance(code, str):
        raise ValidationError("product must be a product code", field="product")
    product = product_by_code(session, code)
    if product is None:
        raise NotFound(f"no product with code {code!r}")
    return product


def require_published(
    session: Session,
    product: Product,
    version: str,
    field: str | None = None,
    within_line: str | None = None,
) -> None:
    """Refuse (422 unknown_version) a version of `product` that was never published:
    an upgrade or a ring approval must name something customers can install. With
    `within_line` (the caller's entitlement), a version beyond it answers the same."""
    stmt = select(Package.id).where(
        Package.product_id == product.id, Package.version_key == version_key(version)
    )
    if within_line is not None:
        stmt = stmt.where(Package.line_key <= within_line)
    published = session.scalars(stmt).first()
    if published is None:
        raise RuleViolation(
            f"{product.code} {version} has never been published",
            code="unknown_version",
            field=field,
        )


def create_product(session: Session, actor: Actor, code: str, name: str) -> Product:
    code, name = validate_code(code, "product"), validate_name(name)
    if session.scalars(select(Product).where(Product.code == code)).first():
        raise Conflict(f"product {code!r} already exists", code="duplicate")
    product = Product(code=code, name=name)
    session.add(product)
    session.flush()
    audit.record(
        session, actor, "product.create", target_type="product", target_id=product.id, code=code
    )
    return product


REVIEW_MODES = ("approver", "system")


def set_review(session: Session, actor: Actor, code: object, review: object) -> Product:
    """Who decides the product's upgrade requests: approvers (four eyes) or the system
    (issued at submission when every rule passes)."""
    if actor.is_installer or not actor.has_role("admin"):
        raise Forbidden("only admins choose who reviews upgrade requests")
    product = find_product(session, code)
    if review not in REVIEW_MODES:
        raise ValidationError(f"review must be one of {', '.join(REVIEW_MODES)}", field="review")
    if product.review != review:
        audit.record(
            session,
            actor,
            "product.review",
            target_type="product",
            target_id=product.id,
            code=product.code,
            review=review,
            previous=product.review,
        )
        product.review = review
    return product
