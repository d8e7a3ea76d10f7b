"""The one definition of an active license, used by entitlement and by upgrade requests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, or_

from distro.licenses.models import License


def active_clause(today: date) -> ColumnElement[bool]:
    """SQL: not revoked, not superseded, not expired (expiry day itself still counts)."""
    return (License.status == "active") & or_(License.expires.is_(None), License.expires >= today)


def is_active(license: License, today: date) -> bool:
    return license.status == "active" and (license.expires is None or license.expires >= today)
