"""The API blueprint's own endpoint: the OpenAPI document. Each feature's endpoints live
in its package (`accounts.views`, `patches.views`, ...), all under /api/v1."""

from __future__ import annotations

from flask import Blueprint, jsonify

from distro.api.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
