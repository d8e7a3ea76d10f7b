"""Equal-quantity upgrade requests: submit, approve (which issues), reject and cancel.

State changes use conditional UPDATEs (`... WHERE status = 'pending'`), so two approvers
racing on one request cannot both win, under SQLite's single writer and under
PostgreSQL's row locks alike; the unique `licenses.request_id` is the last guard.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.services import managed_org_ids
from distro.core.clock import rfc3339, today, utcnow
from distro.core.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationError
from distro.core.events import record_event
from distro.core.ids import is_id
from distro.core.parsers import parse_text, parse_version
from distro.core.versions import version_tuple
from distro.licenses.models import REQUEST_STATUSES, License, LicenseRequest
from distro.licenses.rules import is_active
from distro.licenses.services import (
    issue_license,
    license_for,
    license_json,
    validate_modules,
    validate_user_count,
)
from distro.patches.products import require_published
from distro.signing.signer import Signer

MAX_TEXT = 2000
# Who decides under system review: no person (audited with actor_id null, by=system).
SYSTEM = Actor(user=None)


# Events the worker turns into mail (`distro.mail.events`).
LICENSE_ISSUED = "license.issued"
REQUEST_REJECTED = "request.rejected"


def _text(value: object, field: str, *, required: bool = False) -> str:
    return parse_text(value, field, MAX_TEXT, required=required, multiline=True)


def _check_equal_quantity(source: License, modules: object, user_count: object) -> None:
    if modules is not None and validate_modules(modules) != list(source.modules):
        raise RuleViolation(
            "an upgrade keeps exactly the modules of the source license "
            f"({', '.join(source.modules)})",
            code="equal_quantity_violation",
        )
    if user_count is not None and validate_user_count(user_count) != source.user_count:
        raise RuleViolation(
            f"an upgrade keeps exactly the user count of the source license ({source.user_count})",
            code="equal_quantity_violation",
        )


def _check_upgradable(session: Session, source: License, target: str) -> None:
    if source.kind != "subscription":
        raise RuleViolation(
            "only subscription licenses can be upgraded this way", code="not_subscription"
        )
    if source.expires is not None and source.expires < today():
        raise RuleViolation(
            f"the subscription expired on {source.expires.isoformat()}", code="subscription_expired"
        )
    if source.status != "active":
        raise RuleViolation(
            f"the license is {source.status}, not active", code="license_not_active"
        )
    if version_tuple(target, "target_version") <= version_tuple(source.version):
        raise RuleViolation(
            f"{target} is not newer than the licensed {source.version}", code="not_newer_version"
        )
    require_published(session, source.product, target)


def submit_request(
    session: Session,
    actor: Actor,
    *,
    license_id: object,
    target_version: object,
    note: object = None,
    modules: object = None,
    user_count: object = None,
    signer: Callable[[], Signer] | None = None,
) -> LicenseRequest:
    """Submit an upgrade request. Where the product's review is "system", a request
    that passes every rule is approved and issued here, in the same transaction;
    `signer` gives the signing key for that (only asked for then)."""
    if actor.role not in ("account_manager", "admin"):
        raise Forbidden("only account managers submit upgrade requests")
    if not isinstance(license_id, str):
        raise ValidationError("license_id is required", field="license_id")
    target_version = parse_version(target_version, "target_version")
    source = license_for(session, actor, license_id)
    _check_equal_quantity(source, modules, user_count)
    _check_upgradable(session, source, target_version)
    if session.scalars(
        select(LicenseRequest.id).where(
            LicenseRequest.license_id == source.id, LicenseRequest.status == "pending"
        )
    ).first():
        raise Conflict(
            "this license already has a pending upgrade request", code="duplicate_request"
        )
    request = LicenseRequest(
        source=source,
        org_id=source.org_id,
        target_version=target_version,
        submitted_by=actor.user.id,
        note=_text(note, "note"),
    )
    try:
        with session.begin_nested():  # a savepoint: a bulk request keeps its other lines
            session.add(request)
    except IntegrityError:
        raise Conflict(
            "this license already has a pending upgrade request", code="duplicate_request"
        ) from None
    audit.record(
        session,
        actor,
        "request.submit",
        target_type="license_request",
        target_id=request.id,
        org_id=source.org_id,
        license_id=source.id,
        target_version=target_version,
    )
    if source.product.review == "system":
        if signer is None:
            raise RuntimeError("system review needs the signer")  # a caller's mistake
        _issue(session, signer(), SYSTEM, request, by_system=True)
    return request


def visible_requests(actor: Actor):
    if actor.role == "account_manager":
        return select(LicenseRequest).where(LicenseRequest.org_id.in_(managed_org_ids(actor.user)))
    if actor.role in ("approver", "admin"):
        return select(LicenseRequest)
    raise Forbidden("upgrade requests are for account managers and approvers")


def request_for(session: Session, actor: Actor, request_id: str) -> LicenseRequest:
    query = visible_requests(actor)
    request = None
    if is_id(request_id):
        request = session.scalars(query.where(LicenseRequest.id == request_id)).first()
    if request is None:
        raise NotFound("no such upgrade request")
    return request


def _claim(session: Session, request: LicenseRequest, status: str, actor: Actor, **values) -> None:
    """Move a pending request to `status`, or 409 if someone else decided it first."""
    claimed = _update_returning(
        session,
        update(LicenseRequest)
        .where(LicenseRequest.id == request.id, LicenseRequest.status == "pending")
        .values(
            status=status,
            decided_by=actor.user.id if actor.user else None,
            decided_at=utcnow(),
            **values,
        )
        .returning(LicenseRequest),
    )
    if claimed is None:
        raise Conflict("the request is no longer pending", code="invalid_state")


def _update_returning(session: Session, stmt):
    """Run a conditional UPDATE ... RETURNING; the object it matched is refreshed from
    the row it wrote (one statement instead of an UPDATE and a SELECT), None if none."""
    return session.scalars(
        stmt,
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).first()


def approve_request(
    session: Session, signer: Signer, actor: Actor, request_id: str, note: object = None
) -> License:
    """Approve and issue in one transaction; the caller commits, any error rolls back."""
    if not actor.has_role("approver"):
        raise Forbidden("only approvers approve upgrade requests")
    request = request_for(session, actor, request_id)
    if actor.user and request.submitted_by == actor.user.id:
        raise Forbidden(
            "you submitted this request; another approver must decide it",
            code="self_approval_forbidden",
        )
    if request.status != "pending":
        raise Conflict(f"the request is {request.status}, not pending", code="invalid_state")
    return _issue(session, signer, actor, request, decision_note=_text(note, "note"))


def _issue(
    session: Session,
    signer: Signer,
    actor: Actor,
    request: LicenseRequest,
    *,
    by_system: bool = False,
    decision_note: str | None = None,
) -> License:
    """Claim the pending request, issue its license and supersede the source, in the
    caller's transaction: approval by an approver, or by the system at submission."""
    _claim(
        session,
        request,
        "issued",
        actor,
        decision_note=decision_note,
        decided_by_system=by_system,
    )
    # Read after the claim: a concurrent winner may have changed the source.
    source = session.get(
        License,
        request.license_id,
        options=[joinedload(License.org), joinedload(License.product)],
        populate_existing=True,
    )
    if not is_active(source, today()):
        _check_upgradable(session, source, request.target_version)
    try:
        issued = issue_license(
            session,
            signer,
            org=source.org,
            product=source.product,
            version=request.target_version,
            modules=list(source.modules),
            user_count=source.user_count,
            kind=source.kind,
            deployment=source.deployment,
            starts=source.starts,
            expires=source.expires,
            supersedes=source.id,
            request_id=request.id,
        )
    except IntegrityError:
        raise Conflict(
            "a license was already issued for this request", code="invalid_state"
        ) from None
    supersede_source(session, source)
    audit.record(
        session,
        actor,
        "request.approve",
        target_type="license_request",
        target_id=request.id,
        org_id=source.org_id,
        **({"by": "system"} if by_system else {}),
    )
    audit.record(
        session,
        actor,
        "license.issue",
        target_type="license",
        target_id=issued.id,
        org_id=source.org_id,
        supersedes=source.id,
        request_id=request.id,
    )
    record_event(session, LICENSE_ISSUED, license_id=issued.id, request_id=request.id)
    return issued


def supersede_source(session: Session, source: License) -> None:
    changed = _update_returning(
        session,
        update(License)
        .where(License.id == source.id, License.status == "active")
        .values(status="superseded")
        .returning(License),
    )
    if changed is None:
        raise Conflict("the source license is no longer active", code="invalid_state")


def reject_request(
    session: Session, actor: Actor, request_id: str, reason: object
) -> LicenseRequest:
    if not actor.has_role("approver"):
        raise Forbidden("only approvers reject upgrade requests")
    reason = _text(reason, "reason", required=True)
    request = request_for(session, actor, request_id)
    _claim(session, request, "rejected", actor, reason=reason)
    audit.record(
        session,
        actor,
        "request.reject",
        target_type="license_request",
        target_id=request.id,
        org_id=request.org_id,
        reason=reason,
    )
    record_event(session, REQUEST_REJECTED, request_id=request.id)
    return request


def cancel_request(session: Session, actor: Actor, request_id: str) -> LicenseRequest:
    request = request_for(session, actor, request_id)
    if actor.user is None or request.submitted_by != actor.user.id:
        raise Forbidden("only the submitter can cancel a request")
    _claim(session, request, "cancelled", actor)
    audit.record(
        session,
        actor,
        "request.cancel",
        target_type="license_request",
        target_id=request.id,
        org_id=request.org_id,
    )
    return request


def status_filter(value: str | None) -> str | None:
    if value and value not in REQUEST_STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(REQUEST_STATUSES)}", field="status"
        )
    return value or None


def request_json(session: Session, request: LicenseRequest) -> dict:
    issued = None
    if request.status == "issued":
        issued = session.scalars(select(License).where(License.request_id == request.id)).first()
    return {
        "id": request.id,
        "license_id": request.license_id,
        "target_version": request.target_version,
        "status": request.status,
        "submitted_by": request.submitter.email,
        "note": request.note,
        "decided_by": "system"
        if request.decided_by_system
        else (request.decider.email if request.decider else None),
        "reason": request.reason,
        "decision_note": request.decision_note,
        "created_at": rfc3339(request.created_at),
        "decided_at": rfc3339(request.decided_at),
        "org": request.source.org.code,
        "product": request.source.product.code,
        "source_version": request.source.version,
        "modules": list(request.source.modules),
        "user_count": request.source.user_count,
        "license": license_json(issued) if issued else None,
    }
