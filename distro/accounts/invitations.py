"""Invitations: a customer admin brings colleagues into its own organisation, an admin
brings in staff (or customers of any organisation).

Nobody invites into another organisation or above their own role. The mailed link is
single use and lasts `LIFETIME`; resending replaces it (the old link stops working).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts import throttle
from distro.accounts.actor import Actor
from distro.accounts.links import digest, new_link_token
from distro.accounts.models import CUSTOMER_ROLES, ROLES, Invitation, Organisation, User
from distro.accounts.services import create_user, find_org, user_by_email
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import Conflict, Forbidden, Gone, NotFound, ValidationError
from distro.core.events import record_event
from distro.core.i18n import LANGUAGES
from distro.core.ids import is_id
from distro.core.parsers import parse_email

LIFETIME = timedelta(days=7)
DEAD_LINK = "this invitation is used, revoked, expired or unknown"
SENT = "invitation.sent"  # the event the worker turns into a mailed link
# Mail to outside addresses is limited (review finding 7): three resends of one
# invitation a day, thirty invitation mails an hour for one organisation.
RESENDS = throttle.Policy(
    "invitation-resend",
    free=3,
    window=timedelta(days=1),
    message="this invitation was sent again three times today; try tomorrow, or revoke it",
)
ORG_SENDS = throttle.Policy(
    "invitation-org",
    free=30,
    window=timedelta(hours=1),
    message="thirty invitations went out for your organisation this hour; wait and try again",
)


def status_of(invitation: Invitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "pending"


def _target_org(session: Session, actor: Actor, role: str, org: object) -> Organisation | None:
    """The organisation the invitee joins, by the inviter's own powers."""
    if actor.is_installer or not actor.has_role("customer_admin"):
        raise Forbidden("only customer admins and admins invite people")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    if actor.role == "customer_admin":
        if role not in CUSTOMER_ROLES:
            raise Forbidden("a customer admin invites customer_admin or customer_user only")
        if org not in (None, "", actor.user.org.code):
            raise NotFound(f"no organisation with code {org!r}")
        return actor.user.org
    if role in CUSTOMER_ROLES:
        if not org:
            raise ValidationError(f"a {role} belongs to an organisation: give org", field="org")
        return find_org(session, org)
    if org:
        raise ValidationError("only customer roles belong to an organisation", field="org")
    return None


def invite(
    session: Session,
    actor: Actor,
    email: object,
    role: object,
    org: object = None,
    language: str = "en",
) -> Invitation:
    """Create the invitation and queue its mail (in `language`, the inviter's page
    language, until the invitee chooses their own)."""
    address = parse_email(email)
    role = role if isinstance(role, str) else ""
    target = _target_org(session, actor, role, org)
    _refuse_what_the_inviter_may_know(session, actor, address, target)
    _count_send(session, actor, target)
    invitation = Invitation(
        email=address,
        role=role,
        org_id=target.id if target else None,
        invited_by=actor.user.id if actor.user else None,
        language=language if language in LANGUAGES else "en",
        token_hash=new_link_token()[1],  # a link nobody holds, until the worker mails one
        expires_at=utcnow() + LIFETIME,
    )
    session.add(invitation)
    session.flush()
    record_event(session, SENT, invitation_id=invitation.id)
    audit.record(
        session,
        actor,
        "invitation.create",
        target_type="invitation",
        target_id=invitation.id,
        org_id=invitation.org_id,
        email=address,
        role=role,
    )
    return invitation


def _refuse_what_the_inviter_may_know(
    session: Session, actor: Actor, address: str, target: Organisation | None
) -> None:
    """Refuse a duplicate only where the inviter could see it anyway: someone of its own
    organisation, or an open invitation of its own organisation (admins see everyone).

    Of other organisations an invitation tells nothing (review finding 5): an address
    that has an account elsewhere gets an invitation as any other, which cannot be
    accepted (the invitee is told why), and two organisations may invite the same
    address; accepting one voids the others."""
    existing = user_by_email(session, address)
    if existing is not None and (actor.role == "admin" or existing.org_id == actor.org_id):
        raise Conflict(f"{address} already has an account", code="duplicate")
    same_org = Invitation.org_id.is_(None) if target is None else Invitation.org_id == target.id
    open_one = session.scalars(
        select(Invitation.id).where(
            Invitation.email == address,
            same_org,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    ).first()
    if open_one is not None:
        raise Conflict(
            f"{address} is already invited; resend or revoke that invitation", code="duplicate"
        )


def _count_send(session: Session, actor: Actor, org: Organisation | None) -> None:
    """At most `ORG_SENDS_PER_HOUR` invitation mails an hour for one organisation (the
    staff's together), counted for every process; the operator's CLI is not counted."""
    if actor.user is None:
        return
    key = org.id if org is not None else "staff"
    throttle.check(session, ORG_SENDS, key)
    throttle.hit(session, ORG_SENDS, key)


def visible_invitations(actor: Actor):
    """Customer admins: their organisation's; admins: all; nobody else."""
    if actor.is_installer or not actor.has_role("customer_admin"):
        raise Forbidden("only customer admins and admins manage invitations")
    stmt = select(Invitation)
    if actor.role == "customer_admin":
        stmt = stmt.where(Invitation.org_id == actor.org_id)
    return stmt


def invitation_for(session: Session, actor: Actor, invitation_id: str) -> Invitation:
    invitation = None
    if is_id(invitation_id):
        invitation = session.scalars(
            visible_invitations(actor).where(Invitation.id == invitation_id)
        ).first()
    if invitation is None:
        raise NotFound("no such invitation")
    return invitation


def resend(session: Session, actor: Actor, invitation_id: str) -> Invitation:
    """A new link and a new week; the old link stops working."""
    invitation = invitation_for(session, actor, invitation_id)
    if status_of(invitation) in ("accepted", "revoked"):
        raise Conflict(f"the invitation is {status_of(invitation)}", code="invalid_state")
    throttle.check(session, RESENDS, invitation.id)
    throttle.hit(session, RESENDS, invitation.id)
    _count_send(session, actor, invitation.org)
    invitation.token_hash = new_link_token()[1]  # the old link stops working now
    invitation.expires_at = utcnow() + LIFETIME
    record_event(session, SENT, invitation_id=invitation.id)
    audit.record(
        session,
        actor,
        "invitation.resend",
        target_type="invitation",
        target_id=invitation.id,
        org_id=invitation.org_id,
    )
    return invitation


def revoke(session: Session, actor: Actor, invitation_id: str) -> Invitation:
    invitation = invitation_for(session, actor, invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict("the invitation was accepted already", code="invalid_state")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "invitation.revoke",
            target_type="invitation",
            target_id=invitation.id,
            org_id=invitation.org_id,
        )
    return invitation


def open_invitation(session: Session, token: object) -> Invitation:
    """The pending invitation for `token`; 410 token_invalid for anything else."""
    token_hash = digest(token)
    invitation = None
    if token_hash:
        invitation = session.scalars(
            select(Invitation).where(Invitation.token_hash == token_hash)
        ).first()
    if invitation is None or status_of(invitation) != "pending":
        raise Gone(DEAD_LINK, code="token_invalid")
    if invitation.inviter is not None and invitation.inviter.disabled:
        raise Gone(DEAD_LINK, code="token_invalid")  # review finding 6
    return invitation


def accept(session: Session, token: object, password: object, ip: str | None = None) -> User:
    """Create the account with the chosen password; the link is then used up."""
    invitation = open_invitation(session, token)
    if user_by_email(session, invitation.email) is not None:
        raise Conflict(
            f"{invitation.email} has an account already: log in with it, or ask who invited "
            "you to invite another address (one address belongs to one organisation)",
            code="account_exists",
        )
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
        .returning(Invitation.id),
        execution_options={"synchronize_session": False},
    ).first()
    if claimed is None:
        raise Gone(DEAD_LINK, code="token_invalid")
    org_code = invitation.org.code if invitation.org else None
    actor = Actor(user=invitation.inviter, ip=ip)
    user = create_user(session, actor, invitation.email, invitation.role, password, org_code)
    user.last_language = invitation.language  # until they choose one
    session.execute(
        update(Invitation).where(Invitation.id == invitation.id).values(user_id=user.id),
        execution_options={"synchronize_session": False},
    )
    _void_the_others(session, invitation)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "invitation.accept",
        target_type="invitation",
        target_id=invitation.id,
        org_id=invitation.org_id,
    )
    return user


def _void_the_others(session: Session, accepted: Invitation) -> None:
    """Other organisations' open invitations of the same address can never be accepted
    now (one address, one account): they end as revoked."""
    session.execute(
        update(Invitation)
        .where(
            Invitation.email == accepted.email,
            Invitation.id != accepted.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def void_invitations_by(session: Session, inviter: User) -> int:
    """A disabled person's open invitations end with them (review finding 6)."""
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.invited_by == inviter.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def issue_link(session: Session, invitation_id: str) -> tuple[Invitation, str] | None:
    """For the worker: a new link for a pending invitation (only its hash is kept), to be
    mailed; None when the invitation was accepted or revoked meanwhile. The caller
    commits. The link is made here, not in the request, so that no event carries it."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or status_of(invitation) != "pending":
        return None
    token, invitation.token_hash = new_link_token()
    return invitation, token


def invitation_json(invitation: Invitation) -> dict:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "org": invitation.org.code if invitation.org else None,
        "status": status_of(invitation),
        "invited_by": invitation.inviter.email if invitation.inviter else None,
        "created_at": rfc3339(invitation.created_at),
        "expires_at": rfc3339(invitation.expires_at),
        "accepted_at": rfc3339(invitation.accepted_at),
        "revoked_at": rfc3339(invitation.revoked_at),
    }
