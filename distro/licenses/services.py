"""License grants and who may see which license.

Issuing a license (by grant or by an approved upgrade) always goes through `issue_license`,
which builds the payload and signs the file in the caller's transaction.
"""

from __future__ import annotations

import json
import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import CUSTOMER_ROLES, Organisation
from distro.accounts.services import managed_org_ids
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import NotFound, ValidationError
from distro.core.ids import is_id, new_id
from distro.core.parsers import parse_integer, parse_module_codes, parse_version
from distro.core.versions import line_key
from distro.licenses import licensefile
from distro.licenses.models import DEPLOYMENTS, LICENSE_KINDS, License
from distro.patches.models import Product
from distro.signing.signer import Signer

MAX_USERS = 10_000_000


def validate_modules(modules: object) -> list[str]:
    """Module codes, lower-cased and sorted: `GL,AR` and `ar，gl` are the same license."""
    return parse_module_codes(modules)


def validate_user_count(users: object) -> int:
    return parse_integer(users, "user_count", 1, MAX_USERS)


def validate_terms(kind: object, deployment: object, starts: date, expires: date | None) -> None:
    if kind not in LICENSE_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(LICENSE_KINDS)}", field="kind")
    if deployment not in DEPLOYMENTS:
        raise ValidationError(
            f"deployment must be one of {', '.join(DEPLOYMENTS)}", field="deployment"
        )
    if kind == "subscription" and expires is None:
        raise ValidationError("a subscription needs an expiry date", field="expires")
    if kind == "perpetual" and expires is not None:
        raise ValidationError("a perpetual license has no expiry date", field="expires")
    if expires is not None and expires < starts:
        raise ValidationError("expires must not be before starts", field="expires")


def issue_license(
    session: Session,
    signer: Signer,
    *,
    org: Organisation,
    product: Product,
    version: str,
    modules: list[str],
    user_count: int,
    kind: str,
    deployment: str,
    starts: date,
    expires: date | None,
    supersedes: str | None = None,
    request_id: str | None = None,
) -> License:
    """Create and sign a license in the session (the caller commits)."""
    license = License(
        id=new_id(),
        serial=f"DL-{secrets.token_hex(6).upper()}",
        org_id=org.id,
        product_id=product.id,
        version=version,
        line_key=line_key(version),
        modules=modules,
        user_count=user_count,
        kind=kind,
        deployment=deployment,
        starts=starts,
        expires=expires,
        status="active",
        issued_at=utcnow().replace(microsecond=0),
        supersedes=supersedes,
        request_id=request_id,
        kid=signer.kid,
    )
    license.org, license.product = org, product
    data, text = licensefile.encode(payload_of(license), signer)
    license.payload, license.file_text = data.decode(), text
    session.add(license)
    session.flush()
    return license


def payload_of(license: License) -> dict:
    return {
        "type": "license",
        "id": license.id,
        "serial": license.serial,
        "org": {"code": license.org.code, "name": license.org.name},
        "product": license.product.code,
        "version": license.version,
        "modules": list(license.modules),
        "user_count": license.user_count,
        "kind": license.kind,
        "deployment": license.deployment,
        "starts": license.starts.isoformat(),
        "expires": license.expires.isoformat() if license.expires else None,
        "issued_at": rfc3339(license.issued_at),
        "supersedes": license.supersedes,
        "request_id": license.request_id,
    }


def license_json(license: License) -> dict:
    """The signed payload as issued, plus the current status."""
    return {**json.loads(license.payload), "status": license.status}


def grant_license(
    session: Session,
    signer: Signer,
    actor: Actor,
    *,
    org: Organisation,
    product: Product,
    version: str,
    modules: object,
    user_count: object,
    kind: str,
    deployment: str,
    starts: date,
    expires: date | None,
) -> License:
    """An operator's grant of a new active license (no request behind it)."""
    version = parse_version(version)
    modules, user_count = validate_modules(modules), validate_user_count(user_count)
    validate_terms(kind, deployment, starts, expires)
    license = issue_license(
        session,
        signer,
        org=org,
        product=product,
        version=version,
        modules=modules,
        user_count=user_count,
        kind=kind,
        deployment=deployment,
        starts=starts,
        expires=expires,
    )
    audit.record(
        session,
        actor,
        "license.grant",
        target_type="license",
        target_id=license.id,
        org_id=org.id,
        product=product.code,
        version=version,
    )
    return license


def visible_licenses(actor: Actor):
    """Customer roles: their organisation's; account managers: their organisations';
    other staff: all."""
    stmt = select(License)
    if actor.role in CUSTOMER_ROLES:
        return stmt.where(License.org_id == actor.org_id)
    if actor.role == "account_manager":
        return stmt.where(License.org_id.in_(managed_org_ids(actor.user)))
    return stmt


def license_for(session: Session, actor: Actor, license_id: str) -> License:
    license = None
    if is_id(license_id):
        license = session.scalars(
            visible_licenses(actor)
            .where(License.id == license_id)
            .options(joinedload(License.org), joinedload(License.product))
        ).first()
    if license is None:
        raise NotFound("no such license available to you")
    return license


def record_file_download(session: Session, actor: Actor, license: License) -> None:
    audit.record(
        session,
        actor,
        "license.download",
        target_type="license",
        target_id=license.id,
        org_id=license.org_id,
    )
