"""The OpenAPI 3.1 document served at /api/v1/openapi.json.

Built from one table of operations; a test checks that every /api/v1 route is in it.
"""

from __future__ import annotations

import base64
import json

ERROR = {"$ref": "#/components/schemas/Error"}
PAGE = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}},
}
ITEMS = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array"}}}
OBJECT = {"type": "object"}
LIST_PARAMS = [("limit", "integer", False), ("cursor", "string", False)]
JSON_BODY = "json"
MULTIPART = "multipart"
MULTIPART_TABLE = "multipart-table"
MULTIPART_FILE = "multipart-file"

# (method, path, summary, ok status, response schema, query params, body kind, public)
OPERATIONS = [
    ("get", "/keys", "Public signing keys", 200, ITEMS, [], None, True),
    ("get", "/openapi.json", "This document", 200, OBJECT, [], None, True),
    ("get", "/products", "Products the caller is entitled to", 200, ITEMS, [], None, False),
    (
        "get",
        "/products/{code}/packages",
        "Packages of a product, newest first",
        200,
        PAGE,
        [("kind", "string", False), ("version", "string", False), *LIST_PARAMS],
        None,
        False,
    ),
    (
        "get",
        "/products/{code}/updates",
        "Update plan from an installed version",
        200,
        ITEMS,
        [("from", "string", True), ("installation", "string", False)],
        None,
        False,
    ),
    (
        "get",
        "/packages/{id}",
        "Package metadata, signed manifest and signature",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "get",
        "/packages/{id}/download",
        "Package bytes (ranges, conditional requests)",
        200,
        None,
        [],
        None,
        False,
    ),
    (
        "get",
        "/packages/{id}/deltas/{base_id}/download",
        "A delta to the package from package base_id (the `from` of one of its `deltas`): "
        "under the package's download rule, ranges and conditional requests",
        200,
        None,
        [],
        None,
        False,
    ),
    (
        "post",
        "/packages",
        "Publish a package (multipart: file, product, version, kind, applies_to, notes, "
        "sha256, defects as JSON, modules, severity, cves)",
        201,
        OBJECT,
        [],
        MULTIPART,
        False,
    ),
    (
        "patch",
        "/packages/{id}",
        "Change notes, defects, modules, severity or cves (publisher; the manifest stays)",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "get",
        "/search",
        "Packages the caller may download matching q (a defect id or CVE exactly, or any "
        "part of the words of notes, defect titles and file names), best match first; "
        "severity means that severity or a graver one; installed=V: newer than V on V's "
        "release line",
        200,
        PAGE,
        [
            ("q", "string", False),
            ("product", "string", False),
            ("kind", "string", False),
            ("severity", "string", False),
            ("installed", "string", False),
            *LIST_PARAMS,
        ],
        None,
        False,
    ),
    (
        "get",
        "/advisories",
        "Packages with a severity above none or a CVE, newest first; for customers each "
        "with the installations it affects (below the fix on its release line), their "
        "ring's approval and affected_count; severity means that one or graver",
        200,
        PAGE,
        [("product", "string", False), ("severity", "string", False), *LIST_PARAMS],
        None,
        False,
    ),
    (
        "post",
        "/packages/{id}/yank",
        "Yank a package with a reason",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    ("get", "/licenses", "Licenses visible to the caller", 200, PAGE, LIST_PARAMS, None, False),
    ("get", "/licenses/{id}", "One license", 200, OBJECT, [], None, False),
    ("get", "/licenses/{id}/file", "The signed license file", 200, None, [], None, False),
    (
        "post",
        "/license-requests",
        "Submit an equal-quantity upgrade request",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "get",
        "/license-requests",
        "Upgrade requests",
        200,
        PAGE,
        [("status", "string", False), *LIST_PARAMS],
        None,
        False,
    ),
    (
        "post",
        "/license-requests/{id}/approve",
        "Approve; issues the new license",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/license-requests/{id}/reject",
        "Reject with a reason",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/license-requests/{id}/cancel",
        "Cancel a pending request (submitter)",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/tokens",
        "Create a token; the secret is in this response only",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    ("get", "/tokens", "Tokens visible to the caller", 200, PAGE, LIST_PARAMS, None, False),
    ("delete", "/tokens/{id}", "Revoke a token", 200, OBJECT, [], None, False),
    (
        "get",
        "/tuf/{code}/metadata/{name}",
        "TUF metadata of a product: N.root.json, timestamp.json, N.snapshot.json, N.targets.json",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "get",
        "/tuf/{code}/targets/{version}/{hashed_name}",
        "A TUF target (SHA256.FILENAME): the package bytes, under the download rule",
        200,
        None,
        [],
        None,
        False,
    ),
    (
        "post",
        "/password-reset",
        "Mail a password reset link, if the address has an account (always 202)",
        202,
        OBJECT,
        [],
        JSON_BODY,
        True,
    ),
    (
        "post",
        "/password-reset/{token}",
        "Set a new password with the mailed token",
        200,
        OBJECT,
        [],
        JSON_BODY,
        True,
    ),
    (
        "post",
        "/invitations",
        "Invite someone by e-mail (customer admin: into its organisation)",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "get",
        "/invitations",
        "Invitations visible to the caller",
        200,
        PAGE,
        LIST_PARAMS,
        None,
        False,
    ),
    (
        "delete",
        "/invitations/{invitation_id}",
        "Revoke an invitation",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/invitations/{invitation_id}/resend",
        "Mail the invitation again with a new link",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/invitations/{token}/accept",
        "Accept an invitation: choose the password, the account is created",
        201,
        OBJECT,
        [],
        JSON_BODY,
        True,
    ),
    (
        "patch",
        "/products/{code}",
        "Choose who reviews the product's upgrade requests: approver or system (admin)",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/installations/report",
        "An installer reports on the installation it serves (check, installed, failed)",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/installations/import",
        "A site mirror's reports file (multipart file; staff add the form field org): "
        "each report counts once however often it is imported",
        200,
        OBJECT,
        [],
        MULTIPART_FILE,
        False,
    ),
    (
        "post",
        "/bundles",
        "Ask for an offline bundle (since: only what is new since that ready bundle; "
        "staff add org); 202, built by distro worker",
        202,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "get",
        "/bundles",
        "Offline bundles, newest first (customers: their organisation's; staff: all or org=)",
        200,
        PAGE,
        [("org", "string", False), *LIST_PARAMS],
        None,
        False,
    ),
    (
        "get",
        "/bundles/{bundle_id}",
        "An offline bundle with its files (name, size, sha256) once ready",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "get",
        "/bundles/{bundle_id}/files/{name}",
        "A file of a ready bundle (ranges, conditional requests, an audit row)",
        200,
        None,
        [],
        None,
        False,
    ),
    (
        "get",
        "/installations",
        "Installations (customers: their organisation's; staff: all)",
        200,
        PAGE,
        [("product", "string", False), ("ring", "string", False), *LIST_PARAMS],
        None,
        False,
    ),
    (
        "put",
        "/installations/{installation_id}",
        "Move an installation to another ring (customer admin)",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "put",
        "/rings/{ring}/approvals/{product}",
        "Approve a version (and optional deadline) for a ring (customer admin)",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "delete",
        "/rings/{ring}/approvals/{product}",
        "Remove a ring's approval: it gets everything it is entitled to again",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/import/{kind}",
        "Bulk import of orgs, users or licenses (admin): CSV with a header or JSON lines, "
        "as a multipart 'file' or the body; all or nothing, idempotent",
        200,
        OBJECT,
        [],
        MULTIPART_TABLE,
        False,
    ),
    ("get", "/mfa/status", "The session's second-factor state", 200, OBJECT, [], None, False),
    (
        "post",
        "/mfa/totp",
        "Begin an authenticator app (not active until confirmed)",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/mfa/totp/confirm",
        "Confirm the app with a first code; recovery codes, shown once",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/mfa/verify",
        "Check the session with a TOTP or recovery code",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/mfa/webauthn/register/options",
        "Options for navigator.credentials.create",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/mfa/webauthn/register",
        "Add a security key or passkey",
        201,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    (
        "post",
        "/mfa/webauthn/assert/options",
        "Options for navigator.credentials.get",
        200,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "post",
        "/mfa/webauthn/assert",
        "Check the session with a security key",
        200,
        OBJECT,
        [],
        JSON_BODY,
        False,
    ),
    ("delete", "/mfa/factors/{factor_id}", "Remove a second factor", 200, OBJECT, [], None, False),
    (
        "post",
        "/mfa/recovery-codes",
        "Ten new recovery codes (the old ones stop working)",
        201,
        OBJECT,
        [],
        None,
        False,
    ),
    (
        "get",
        "/audit",
        "Audit events (admin)",
        200,
        PAGE,
        [
            ("action", "string", False),
            ("actor", "string", False),
            ("org_id", "string", False),
            ("since", "string", False),
            ("until", "string", False),
            *LIST_PARAMS,
        ],
        None,
        False,
    ),
]


def _forged_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# Values that were 500s once (review finding 10), offered to clients and fuzzers alike as
# examples of what the API must refuse cleanly: schemathesis sends every one of them.
EDGE_EXAMPLES = {
    "since": ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-11-27"],
    "until": ["0000-01-01", "9999-12-31T23:59:59Z"],
    "cursor": [
        _forged_cursor([["v", 10**30], ["v", "x"]]),
        _forged_cursor([["t", "2026-01-01T00:00:00+14:00"], ["v", "x"]]),
    ],
    "limit": [10**30, 0, 500],
    "from": ["9" * 40, "9.0"],
    "q": ["过账", "PT-201301", "\u202e", "x" * 201],
    "severity": ["high", "urgent"],
}


def _parameter(name: str, kind: str, required: bool) -> dict:
    schema: dict = {"type": kind}
    if name in EDGE_EXAMPLES:
        schema["examples"] = EDGE_EXAMPLES[name]
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _operation(path, summary, status, schema, params, body, public) -> dict:
    parameters = [_parameter(name, kind, required) for name, kind, required in params]
    for segment in path.split("/"):
        if segment.startswith("{"):
            parameters.append(
                {
                    "name": segment[1:-1],
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            )
    content = (
        {"application/json": {"schema": schema}}
        if schema
        else {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    )
    responses = {str(status): {"description": "success", "content": content}}
    for code in ("400", "401", "403", "404", "409", "410", "413", "416", "422", "429", "503"):
        responses[code] = {
            "description": "error",
            "content": {"application/json": {"schema": ERROR}},
        }
    op = {"summary": summary, "parameters": parameters, "responses": responses}
    if public:
        op["security"] = []
    if body == JSON_BODY:
        op["requestBody"] = {"content": {"application/json": {"schema": OBJECT}}}
    elif body == MULTIPART_TABLE:
        op["requestBody"] = {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    elif body == MULTIPART_FILE:
        op["requestBody"] = {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "org": {"type": "string"},
                        },
                    }
                }
            }
        }
    elif body == MULTIPART:
        op["requestBody"] = {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "product", "version", "kind"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **{
                                f: {"type": "string"}
                                for f in (
                                    "product",
                                    "version",
                                    "kind",
                                    "applies_to",
                                    "notes",
                                    "sha256",
                                    "defects",
                                    "modules",
                                    "severity",
                                    "cves",
                                )
                            },
                        },
                    }
                }
            }
        }
    return op


def openapi_document() -> dict:
    paths: dict = {}
    for method, path, *rest in OPERATIONS:
        paths.setdefault(f"/api/v1{path}", {})[method] = _operation(path, *rest)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "distro",
            "version": "1.0.0",
            "description": "Patch, installer and license distribution API",
        },
        "paths": paths,
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
    }
