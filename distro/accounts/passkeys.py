"""Security keys and passkeys (WebAuthn, with py_webauthn): registration and assertion,
user verification required both times (a PIN or a fingerprint, not only a touch).

The relying party is the service's public address (`DISTRO_BASE_URL`: its host name is
the RP ID, its origin the one the browser must report). An assertion is only looked up
among the signed-in person's own credentials, so another person's key, however valid
its signature, is refused (the flaw of GHSA-f66q-9rf6-8795); the sign counter must grow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from distro.accounts.models import LoginSession, SecondFactor, User
from distro.core.clock import utcnow
from distro.core.errors import DistroError, ValidationError
from distro.core.parsers import parse_text

RP_NAME = "distro"


class MfaInvalid(DistroError):
    """A second factor that did not check out: wrong code, another key, no verification."""

    code = "mfa_invalid"
    status = 401


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str

    @classmethod
    def from_base_url(cls, base_url: str) -> RelyingParty:
        parts = urlsplit(base_url)
        return cls(parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}")


def user_handle(user: User) -> bytes:
    """A key's handle of its person: the random id, never the e-mail address."""
    return bytes.fromhex(user.id)


def keys_of(session: Session, user: User) -> list[SecondFactor]:
    return list(
        session.scalars(
            select(SecondFactor).where(
                SecondFactor.user_id == user.id,
                SecondFactor.kind == "webauthn",
                SecondFactor.confirmed_at.is_not(None),
            )
        )
    )


def _descriptors(keys: list[SecondFactor]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=key.credential_id) for key in keys]


def registration_options(session: Session, user: User, party: RelyingParty) -> tuple[str, bytes]:
    """(options for `navigator.credentials.create`, as JSON; their challenge)."""
    options = generate_registration_options(
        rp_id=party.rp_id,
        rp_name=RP_NAME,
        user_name=user.email,
        user_id=user_handle(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(keys_of(session, user)),
    )
    return options_to_json(options), options.challenge


def register(
    session: Session,
    user: User,
    credential: object,
    challenge: bytes,
    party: RelyingParty,
    name: object,
) -> SecondFactor:
    """Store a new key from the browser's answer to the registration options."""
    label = parse_text(name, "name", 100) or "Security key"
    try:
        verified = verify_registration_response(
            credential=_json(credential),
            expected_challenge=challenge,
            expected_rp_id=party.rp_id,
            expected_origin=party.origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        raise MfaInvalid(f"the security key was not registered: {exc}") from None
    key = SecondFactor(
        user_id=user.id,
        kind="webauthn",
        name=label,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        confirmed_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key


def authentication_options(session: Session, user: User, party: RelyingParty) -> tuple[str, bytes]:
    """(options for `navigator.credentials.get` listing the person's keys; challenge)."""
    options = generate_authentication_options(
        rp_id=party.rp_id,
        allow_credentials=_descriptors(keys_of(session, user)),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def assert_key(
    session: Session, user: User, credential: object, challenge: bytes, party: RelyingParty
) -> SecondFactor:
    """The person's key that signed this assertion, its counter moved on; MfaInvalid for
    anything else (not their key, no user verification, a counter that did not grow)."""
    text = _json(credential)
    try:
        parsed = parse_authentication_credential_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise MfaInvalid(f"the security key's answer is malformed: {exc}") from None
    key = session.scalars(
        select(SecondFactor).where(
            SecondFactor.user_id == user.id,
            SecondFactor.kind == "webauthn",
            SecondFactor.credential_id == parsed.raw_id,
        )
    ).first()
    handle = parsed.response.user_handle
    if key is None or (handle and handle != user_handle(user)):
        raise MfaInvalid("that security key is not one of yours")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=party.rp_id,
            expected_origin=party.origin,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        raise MfaInvalid(f"the security key's answer did not check out: {exc}") from None
    key.sign_count, key.last_used_at = verified.new_sign_count, utcnow()
    return key


def _json(credential: object) -> str:
    if isinstance(credential, dict):
        return json.dumps(credential)
    if isinstance(credential, str):
        return credential
    raise ValidationError(
        "credential must be the browser's answer as a JSON object", field="credential"
    )


def keep_challenge(login: LoginSession, challenge: bytes) -> None:
    """Remember the options' challenge in the server-side session (a newer one replaces
    it: one ceremony at a time)."""
    login.webauthn_challenge = bytes_to_base64url(challenge)


def take_challenge(session: Session, login: LoginSession) -> bytes:
    """The session's challenge, taken in one conditional UPDATE so that two answers
    racing for it cannot both have it; MfaInvalid when there is none."""
    text = login.webauthn_challenge
    taken = text is not None and (
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == login.id, LoginSession.webauthn_challenge == text)
            .values(webauthn_challenge=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    if not taken:
        raise MfaInvalid("ask for the security key options first (each is used once)")
    set_committed_value(login, "webauthn_challenge", None)
    return base64url_to_bytes(text)
