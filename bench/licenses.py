"""License issuance end to end (submit + approve + signed file) vs the signature alone.

python -m bench.licenses
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import JsonClient, Row, distro_service, print_rows
from tests.conftest import grant_license, publish_file

REQUESTS = int(os.environ.get("BENCH_LICENSES", "1000"))
CLIENTS = int(os.environ.get("BENCH_LICENSE_CLIENTS", "1"))


def signature_ops_per_second(count: int = 2000) -> float:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    payload = b'{"type":"license",' + b'"x":' * 60 + b"}"
    start = time.perf_counter()
    for _ in range(count):
        public.verify(key.sign(payload), payload)
    return count / (time.perf_counter() - start)


def main() -> list[Row]:
    with distro_service("local", workers=2) as (server, world, config, app):
        runner = app.test_cli_runner()
        path = os.path.join(tempfile.mkdtemp(), "erp-9.0.bin")
        with open(path, "wb") as out:
            out.write(b"installer")
        publish_file(runner, path, version="9.0")
        sources = [
            grant_license(runner, modules="fin,hr", users="10", expires="2099-01-01")
            for _ in range(REQUESTS)
        ]

        def issue(share: list[str]) -> None:
            manager = JsonClient(server.url, world.auth("am@vendor.test"))
            approver = JsonClient(server.url, world.auth("appr@vendor.test"))
            for source in share:
                status, submitted = manager.post(
                    "/api/v1/license-requests", {"license_id": source, "target_version": "9.0"}
                )
                assert status == 201, submitted
                status, issued = approver.post(
                    f"/api/v1/license-requests/{submitted['id']}/approve", {}
                )
                assert status == 200 and issued["request_id"] == submitted["id"], issued
            manager.close()
            approver.close()

        shares = [sources[i::CLIENTS] for i in range(CLIENTS)]
        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(issue, shares))
        per_second = REQUESTS / (time.perf_counter() - start)
    return [
        Row(
            f"issuance/s ({REQUESTS} submit+approve, {CLIENTS} clients) vs sign+verify",
            per_second,
            signature_ops_per_second(),
            "ops/s",
            "target >= 100/s",
        )
    ]


if __name__ == "__main__":
    print_rows(main())
