"""Installations: what customers run where, their rings and ring approvals, and the
vendor's fleet view built from the installers' reports."""
