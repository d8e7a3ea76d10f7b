"""Packages: publishing, catalogue, entitlement, update plans and downloads."""
