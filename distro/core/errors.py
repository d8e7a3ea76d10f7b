"""Domain errors: each carries the contract's error code and HTTP status.

No Flask here, so the services, the CLI and the web layer can all raise and catch them.
"""

from __future__ import annotations


class DistroError(Exception):
    """Base of every error a user can cause; `code` and `status` go into the JSON envelope."""

    code = "bad_request"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field


class ValidationError(DistroError):
    code = "invalid_input"
    status = 400


class Unauthenticated(DistroError):
    code = "unauthenticated"
    status = 401


class Forbidden(DistroError):
    code = "forbidden"
    status = 403


class NotFound(DistroError):
    code = "not_found"
    status = 404


class Conflict(DistroError):
    code = "conflict"
    status = 409


class Gone(DistroError):
    code = "gone"
    status = 410


class TooLarge(DistroError):
    code = "too_large"
    status = 413


class RangeNotSatisfiable(DistroError):
    code = "range_not_satisfiable"
    status = 416

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


class TooManyAttempts(DistroError):
    """429; `retry_after` (seconds) becomes the Retry-After header when known."""

    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, *, retry_after: int | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RuleViolation(DistroError):
    """A well-formed request that a business rule refuses (422)."""

    code = "unprocessable"
    status = 422


class StorageUnavailable(DistroError):
    code = "storage_unavailable"
    status = 503


class SignatureInvalid(DistroError):
    code = "signature_invalid"
    status = 422
