"""The one error of the installer client."""

from __future__ import annotations

from distro.core.errors import DistroError


class FetchError(DistroError):
    """Anything that stops a fetch; the message names the package and the failed check."""

    code = "fetch_failed"
