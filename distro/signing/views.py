"""The public key list, the one API endpoint anyone may call without logging in."""

from __future__ import annotations

from flask import Blueprint, jsonify

from distro.core.db import get_session
from distro.signing.keys import key_json, list_keys

bp = Blueprint("keys", __name__, url_prefix="/api/v1")


@bp.get("/keys")
def keys():
    return jsonify(items=[key_json(row) for row in list_keys(get_session())])
