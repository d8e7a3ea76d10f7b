"""Feed keys: a feed reader cannot sign in, so the feed's URL carries a key.

A key reads `dfk_<secret>`; only its SHA-256 is stored (one per user, a new one
replaces the old), so the database never holds a usable key. The key opens the Atom
feeds of what its owner may download and nothing else: no bearer-token loader or login
accepts it. Creating, revoking and using a key are audited.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import FeedKey, User
from distro.core.clock import utcnow
from distro.core.errors import NotFound

PREFIX = "dfk_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_feed_key(session: Session, actor: Actor) -> str:
    """A new key for the acting user (the old one stops working); shown once."""
    key = PREFIX + secrets.token_urlsafe(32)
    session.execute(delete(FeedKey).where(FeedKey.user_id == actor.user.id))
    session.add(FeedKey(user_id=actor.user.id, key_hash=_digest(key)))
    audit.record(session, actor, "feed_key.create", target_type="user", target_id=actor.user.id)
    return key


def revoke_feed_key(session: Session, actor: Actor) -> None:
    found = session.get(FeedKey, actor.user.id)
    if found is None:
        raise NotFound("you have no feed key")
    session.delete(found)
    audit.record(session, actor, "feed_key.revoke", target_type="user", target_id=actor.user.id)


def feed_key_of(session: Session, user: User) -> FeedKey | None:
    return session.get(FeedKey, user.id)


def feed_reader(session: Session, presented: object) -> Actor | None:
    """The owner of a feed key as the actor of a feed read, or None for a key that is not
    one (revoked, malformed) or whose owner is disabled. The lookup is by the key's
    SHA-256, so no comparison runs over the secret itself."""
    if not isinstance(presented, str) or not presented.startswith(PREFIX) or len(presented) > 100:
        return None
    found = session.scalars(select(FeedKey).where(FeedKey.key_hash == _digest(presented))).first()
    if found is None:
        return None
    user = session.get(User, found.user_id)
    if user is None or user.disabled:
        return None
    found.last_used_at = utcnow()
    return Actor(user=user)
