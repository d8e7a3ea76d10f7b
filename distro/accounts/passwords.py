"""Password hashing (scrypt via Werkzeug by default) and the minimum password rule.

`DISTRO_PASSWORD_HASH_METHOD` may name another Werkzeug method; the test suite uses a
cheap one because it creates hundreds of accounts. Existing hashes keep verifying
whatever the setting, since each hash names its own method.
"""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from distro.core.errors import ValidationError

MIN_LENGTH = 10
# Compared against when the e-mail is unknown, so that a wrong e-mail costs the same
# time as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("distro-dummy-password")


_settings = {"method": "scrypt"}


def init_app(app) -> None:
    _settings["method"] = app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError(
            f"the password must have at least {MIN_LENGTH} characters", field="password"
        )
    if len(password) > 1024:
        raise ValidationError("the password is longer than 1024 characters", field="password")
    return generate_password_hash(password, method=_settings["method"])


# The hash of an account without a password yet (a bulk import): nothing matches it; its
# owner sets one with a mailed reset link.
NO_PASSWORD = "!"


def password_matches(stored_hash: str | None, password: str) -> bool:
    usable = stored_hash not in (None, NO_PASSWORD)
    return check_password_hash(stored_hash if usable else _DUMMY_HASH, password) and usable
