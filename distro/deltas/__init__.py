"""Deltas: a package rebuilt from the one before it and a small file of differences."""
