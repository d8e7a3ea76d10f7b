"""API throughput and latency over catalogues of 1,000 and 100,000 packages.

python -m bench.api
"""

from __future__ import annotations

import base64
import os
import threading
import time

import requests
from sqlalchemy import insert

from bench.common import Row, distro_service, median, percentile, print_rows
from distro.core.clock import utcnow
from distro.core.ids import new_id
from distro.core.versions import line_key, version_key
from distro.patches.models import Package, Product
from distro.patches.services import build_manifest
from distro.signing.keys import active_signer, get_key_source
from tests.conftest import grant_license

PRODUCTS = 50
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "4"))
CONCURRENCY = (1, 8, 32)


def seed_catalogue(app, total: int) -> tuple[str, str]:
    """`total` signed packages spread over 50 products; returns a product code and an id."""
    with app.app_context():
        session = app.extensions["distro.sessionmaker"]()
        signer = active_signer(session, get_key_source())
        products = [Product(code=f"p{i:02d}", name=f"Product {i}") for i in range(PRODUCTS)]
        session.add_all(products)
        session.flush()
        rows, now = [], utcnow().replace(microsecond=0)
        for n in range(total):
            product = products[n % PRODUCTS]
            step = n // PRODUCTS
            version = f"{8 + step // 1000}.{(step // 100) % 10}.{step % 100}"
            package = Package(
                id=new_id(),
                product_id=product.id,
                version=version,
                version_key=version_key(version),
                line_key=line_key(version),
                kind="patch",
                filename=f"{product.code}-{version}.bin",
                size=1,
                sha256="0" * 64,
                storage_key="blobs/none",
                notes="",
                applies_to=f"<{version}",
                published_at=now,
                kid=signer.kid,
                manifest="",
                signature="",
            )
            package.product = product
            manifest = build_manifest(package, product.code)
            rows.append(
                {
                    c.key: getattr(package, c.key)
                    for c in Package.__table__.columns
                    if getattr(package, c.key) is not None  # else the column's default
                }
                | {
                    "manifest": manifest.decode(),
                    "signature": base64.b64encode(signer.sign(manifest)).decode(),
                }
            )
            if len(rows) == 5000:
                session.execute(insert(Package), rows)
                rows = []
        if rows:
            session.execute(insert(Package), rows)
        session.commit()
        one = session.query(Package.id).filter(Package.product_id == products[7].id).first()[0]
        session.close()
    return "p07", one


def load(url: str, headers: dict, clients: int) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 latency (ms) with `clients` concurrent sessions."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS

    def client():
        session = requests.Session()
        session.headers.update(headers)
        mine = []
        while time.perf_counter() < stop:
            start = time.perf_counter()
            answer = session.get(url)
            mine.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (
        len(latencies) / (time.perf_counter() - begin),
        median(latencies),
        percentile(latencies, 99),
    )


def measure(total: int) -> dict:
    results = {}
    with distro_service("local", workers=4) as (server, world, config, app):
        code, package_id = seed_catalogue(app, total)
        runner = app.test_cli_runner()
        for i in range(PRODUCTS):
            grant_license(
                runner,
                product=f"p{i:02d}",
                version="99.0",
                modules="m",
                users="1",
                kind="perpetual",
            )
        headers = world.auth("installer@acme")
        for name, path in (
            ("listing", f"/api/v1/products/{code}/packages?limit=50"),
            ("detail", f"/api/v1/packages/{package_id}"),
        ):
            for clients in CONCURRENCY:
                results[(name, clients)] = load(server.url + path, headers, clients)
    return results


def main() -> list[Row]:
    small, large = measure(1_000), measure(100_000)
    rows = []
    for (name, clients), (rps, p50, p99) in large.items():
        base_rps, base_p50, base_p99 = small[(name, clients)]
        rows.append(
            Row(
                f"{name} rps, {clients} clients, 100k vs 1k packages",
                rps,
                base_rps,
                "req/s",
                "target >= 0.67 for listing" if name == "listing" else "",
            )
        )
        rows.append(Row(f"{name} p50, {clients} clients, 100k vs 1k packages", p50, base_p50, "ms"))
        rows.append(Row(f"{name} p99, {clients} clients, 100k vs 1k packages", p99, base_p99, "ms"))
    return rows


if __name__ == "__main__":
    print_rows(main())
