"""Entitlement (contract §2): which packages a caller may see and download.

An organisation may download a package of product P when it holds an active license for
P whose release line is the package's release line or newer. Vendor staff see all.
Everything a caller is not entitled to is answered 404, so existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, false, func, literal_column, or_, select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.clock import today
from distro.core.errors import NotFound
from distro.core.ids import is_id
from distro.licenses.models import License
from distro.licenses.rules import active_clause
from distro.patches.models import Package, Product
from distro.patches.products import product_by_code

ALL_LINES = "~"  # sorts after every line key: staff see every release line


def entitled_line(session: Session, actor: Actor, product: Product) -> str | None:
    """The highest release-line key the caller may download for `product`, or None."""
    if actor.is_staff:
        return ALL_LINES
    return session.scalar(
        select(func.max(License.line_key)).where(
            License.org_id == actor.org_id, License.product_id == product.id, active_clause(today())
        )
    )


def entitled_lines(session: Session, actor: Actor) -> dict[str, str]:
    """Product id -> the highest release-line key the caller's organisation may
    download (a handful of rows, by the licenses' organisation index)."""
    return org_lines(session, actor.org_id)


def org_lines(session: Session, org_id: str | None) -> dict[str, str]:
    """`entitled_lines` of an organisation (an export acts for one, not as one of it)."""
    return dict(
        session.execute(
            select(License.product_id, func.max(License.line_key))
            .where(License.org_id == org_id, active_clause(today()))
            .group_by(License.product_id)
        ).all()
    )


def only_entitled(session: Session, stmt: Select, actor: Actor) -> Select:
    """`stmt` over packages, restricted to those the caller may download (yanked ones
    included). The organisation's few lines are read first and written into the query
    as constants: a join or EXISTS with licenses leaves the planner guessing how much
    remains, and PostgreSQL then scans every package instead of reading a page."""
    if actor.is_staff:
        return stmt
    return within_lines(session, stmt, entitled_lines(session, actor))


def within_lines(session: Session, stmt: Select, lines: dict[str, str]) -> Select:
    """`stmt` over packages, restricted to the product lines `lines` (`org_lines`)."""
    if not lines:
        return stmt.where(false())
    product = Package.product_id
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's documented unary +: filter by these terms, never drive by them (it
        # would read every package of the product and sort them to show one page).
        product = literal_column(f"+{Package.__tablename__}.product_id")
    return stmt.where(
        or_(
            *(
                and_(product == product_id, Package.line_key <= line)
                for product_id, line in sorted(lines.items())
            )
        )
    )


def entitled_products(session: Session, actor: Actor) -> list[Product]:
    stmt = select(Product).order_by(Product.code)
    if not actor.is_staff:
        licensed = select(License.product_id).where(
            License.org_id == actor.org_id, active_clause(today())
        )
        stmt = stmt.where(Product.id.in_(licensed))
    return list(session.scalars(stmt))


def product_for(session: Session, actor: Actor, code: str) -> tuple[Product, str]:
    """The product and the caller's line limit; 404 when the caller has no entitlement."""
    product = product_by_code(session, code)
    line = entitled_line(session, actor, product) if product else None
    if product is None or line is None:
        raise NotFound(f"no product {code!r} available to you")
    return product, line


def package_for(session: Session, actor: Actor, package_id: str) -> Package:
    """The package if the caller is entitled to it (yanked ones included); else 404."""
    package = session.get(Package, package_id) if is_id(package_id) else None
    if package is not None:
        line = entitled_line(session, actor, package.product)
        if line is not None and package.line_key <= line:
            return package
    raise NotFound("no such package available to you")
