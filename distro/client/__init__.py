"""The installer client: fetch an update path or an installer, resume, verify.

Imports no Flask, so that installers can embed it. `distro fetch` (in `cli`) is the
same client at the command line.
"""

from distro.client.fetcher import DistroClient, FetchError, load_keys

__all__ = ["DistroClient", "FetchError", "load_keys"]
