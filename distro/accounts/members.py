"""The people of an organisation, as its customer admin manages them, and each user's
own settings (page and mail language, package notices)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.invitations import void_invitations_by
from distro.accounts.models import User
from distro.core.errors import Forbidden, NotFound, ValidationError
from distro.core.i18n import LANGUAGES
from distro.core.ids import is_id


def visible_users(actor: Actor):
    """Customer admins: their organisation's people; admins: everyone."""
    if actor.is_installer or not actor.has_role("customer_admin"):
        raise Forbidden("only customer admins and admins manage users")
    stmt = select(User).order_by(User.email)
    if actor.role == "customer_admin":
        stmt = stmt.where(User.org_id == actor.org_id)
    return stmt


def set_disabled(session: Session, actor: Actor, user_id: str, disabled: bool) -> User:
    """Disable (or enable again) an account; a disabled account's sessions and tokens
    stop working at once (both check the flag on every request)."""
    user = None
    if is_id(user_id):
        user = session.scalars(visible_users(actor).where(User.id == user_id)).first()
    if user is None:
        raise NotFound("no such user")
    if actor.user is not None and user.id == actor.user.id:
        raise Forbidden("you cannot disable your own account")
    if user.disabled != disabled:
        user.disabled = disabled
        if disabled:
            void_invitations_by(session, user)
        audit.record(
            session,
            actor,
            "user.disable" if disabled else "user.enable",
            target_type="user",
            target_id=user.id,
            org_id=user.org_id,
            email=user.email,
        )
    return user


def require_second_factor(session: Session, actor: Actor, required: object) -> None:
    """A customer admin asks a second factor of every person of the organisation (each
    enrols at their next sign-in); audited."""
    if actor.is_installer or actor.role != "customer_admin" or actor.user is None:
        raise Forbidden("only a customer admin chooses this for the organisation")
    if not isinstance(required, bool):
        raise ValidationError("required must be true or false", field="required")
    org = actor.user.org
    if org.require_mfa != required:
        org.require_mfa = required
        audit.record(
            session,
            actor,
            "org.require_mfa",
            target_type="org",
            target_id=org.id,
            org_id=org.id,
            required=required,
        )


def set_preferences(
    session: Session, user: User, *, language: object = None, notify_packages: object = None
) -> None:
    if language is not None:
        if language not in LANGUAGES:
            raise ValidationError(
                f"language must be one of {', '.join(LANGUAGES)}", field="language"
            )
        user.language = language
    if notify_packages is not None:
        if not isinstance(notify_packages, bool):
            raise ValidationError("notify_packages must be true or false", field="notify_packages")
        user.notify_packages = notify_packages


def choose_language(user: User, language: str) -> None:
    """The user picked a language (the header's switch): their mail follows it."""
    if language in LANGUAGES:
        user.language = language


def remember_last_language(user: User, language: str) -> None:
    """The page language at login: mail uses it until the user chooses one."""
    if language in LANGUAGES:
        user.last_language = language
