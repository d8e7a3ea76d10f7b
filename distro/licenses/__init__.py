"""Licenses: grants, signed license files and equal-quantity upgrade requests."""
