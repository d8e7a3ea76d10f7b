"""The /api/v1 glue: the JSON error envelope, request-body helpers and the OpenAPI document."""
