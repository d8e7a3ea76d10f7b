"""The client's trust in a product's TUF repository (`tuf.ngclient`): the trusted root
lives in a folder of the installer's (`DEST/.tuf/<product>/`), every refresh verifies
timestamp, snapshot and targets against it, and new root versions are followed link by
link, each signed by the keys of the one before. Requests carry the installer's token
and go through the same `requests` session as downloads, so HTTP(S)_PROXY applies.
"""

from __future__ import annotations

from pathlib import Path

import requests
from tuf.api.exceptions import DownloadHTTPError, RepositoryError
from tuf.api.metadata import TargetFile
from tuf.ngclient import FetcherInterface, Updater

from distro.client.errors import FetchError

TRUST_FOLDER = ".tuf"


class TokenFetcher(FetcherInterface):
    """ngclient's fetcher over our session: bearer token and proxy settings included."""

    def __init__(self, session: requests.Session, timeout: float):
        self.session, self.timeout = session, timeout

    def _fetch(self, url: str):
        try:
            answer = self.session.get(url, stream=True, timeout=self.timeout)
        except requests.RequestException as exc:
            raise DownloadHTTPError(f"{url}: {type(exc).__name__}", 0) from None
        if answer.status_code != 200:
            raise DownloadHTTPError(f"{url} answered {answer.status_code}", answer.status_code)
        return answer.iter_content(64 * 1024)


class Repository:
    """One product's repository as this installer trusts it."""

    def __init__(
        self,
        server: str,
        product: str,
        trust_dir: Path,
        session: requests.Session,
        timeout: float = 60,
        root: bytes | None = None,
    ):
        base = f"{server}/api/v1/tuf/{product}"
        self.targets_url = f"{base}/targets/"
        trust_dir.mkdir(parents=True, exist_ok=True)
        fetcher = TokenFetcher(session, timeout)
        #: True when no root was trusted before and none was given: version 1 was taken
        #: from the server as it is, and the caller must say so loudly.
        self.first_use = False
        if (trust_dir / "root.json").is_file():
            bootstrap = None
        elif root is not None:
            bootstrap = root
        else:
            try:
                bootstrap = b"".join(fetcher.fetch(f"{base}/metadata/1.root.json"))
            except DownloadHTTPError as exc:
                raise FetchError(f"{product}: cannot fetch its TUF root: {exc}") from None
            self.first_use = True
        try:
            self.updater = Updater(
                metadata_dir=str(trust_dir),
                metadata_base_url=f"{base}/metadata/",
                target_base_url=self.targets_url,
                fetcher=fetcher,
                bootstrap=bootstrap,
            )
            self.updater.refresh()
        except (RepositoryError, DownloadHTTPError, ValueError) as exc:
            raise FetchError(
                f"{product}: the TUF metadata failed its check ({type(exc).__name__}: {exc}); "
                "nothing was downloaded"
            ) from None

    def target(self, path: str) -> TargetFile | None:
        return self.updater.get_targetinfo(path)

    def target_url(self, target: TargetFile) -> str:
        directory, _, name = target.path.rpartition("/")
        return f"{self.targets_url}{directory}/{target.hashes['sha256']}.{name}"
