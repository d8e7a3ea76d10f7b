"""Search at a vendor's size (issue 25): 100,000 packages with notes, defects and CVEs in
Chinese and English, searched through GET /api/v1/search as staff and as a customer whose
license covers part of the catalogue.

    .venv/bin/python -m bench.search --db sqlite
    .venv/bin/python -m bench.search --db postgresql    (a cluster from scripts/postgres.sh)

Each query class runs BENCH_SEARCH_SAMPLES times (200) with its words rotated; p50 and p99
are printed against the 50 ms target, and against a baseline measured in the same run:
the same requests without the gram index, reading packages newest first and checking
each one's folded text (`LIKE '%word%'`) until a page is full, which is what a database
does without the index (same ranking, same paging). The plan of one search is
printed to show the index in use (FTS5 on SQLite, the GIN index on PostgreSQL).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.common import percentile
from bench.scale import bench_config
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.ids import new_id
from distro.core.searchtext import document_grams, package_document
from distro.core.versions import line_key, version_key
from distro.licenses.imports import refresh_statistics
from distro.patches import search
from distro.patches.models import Package, PackageReference, PackageSearch
from tests.conftest import grant_license, make_app, seed_world

PACKAGES = int(os.environ.get("BENCH_PACKAGES", "100000"))
SAMPLES = int(os.environ.get("BENCH_SEARCH_SAMPLES", "200"))
TARGET_MS = 50.0
ZH = (
    "总账 凭证 过账 失败 报表 应收 应付 账龄 库存 盘点 工资 薪酬 采购 订单 发票 税务 成本 "
    "核算 固定资产 折旧 月结 期间 关闭 打印 导出 性能 缓慢 错误 金额 汇率 合并 预算 审批 "
    "流程 权限 用户 登录 接口 数据 同步"
).split()
EN = (
    "voucher posting fails ledger report receivable payable aging inventory count payroll "
    "purchase order invoice tax cost asset depreciation period closing print export slow "
    "error amount exchange rate budget approval workflow permission login interface sync "
    "timeout rounding currency duplicate missing totals"
).split()
LINES = ["7.0", "7.1", "8.0", "8.1", "9.0"]
SEVERITIES = ["none"] * 6 + ["low", "medium", "high", "critical"]


def _title(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "".join(rng.sample(ZH, rng.randint(2, 4)))
    return " ".join(rng.sample(EN, rng.randint(3, 6))).capitalize()


def _package(rng: random.Random, n: int, products: list[str], at: datetime) -> dict:
    line = rng.choice(LINES)
    version = f"{line}.{n // len(LINES) % 900 + 1}.{n % 7}"
    defects = [
        {"id": f"PT-{200000 + n * 3 + i}", "title": _title(rng)} for i in range(rng.randint(0, 3))
    ]
    severity = rng.choice(SEVERITIES)
    cves = [f"CVE-2026-{10000 + n}"] if severity in ("high", "critical") and n % 3 == 0 else []
    notes = "。".join(_title(rng) for _ in range(rng.randint(1, 3)))
    kind = rng.choice(["patch", "patch", "patch", "feature_pack", "installer"])
    filename = f"erp-{version}-{kind}-{n}.zip"
    product = products[n % len(products)]
    manifest = json.dumps({"type": "package", "product": "erp", "version": version})
    return {
        "package": {
            "id": new_id(),
            "product_id": product,
            "version": version,
            "version_key": version_key(version),
            "line_key": line_key(version),
            "kind": kind,
            "filename": filename,
            "size": 1024,
            "sha256": "0" * 64,
            "storage_key": "bench",
            "applies_to": None if kind == "installer" else f">={line},<{version}",
            "notes": notes,
            "manifest": manifest,
            "signature": "",
            "kid": "bench",
            "published_at": at + timedelta(minutes=n),  # inserted in order of publication
            "yanked": False,
            "defects_json": json.dumps(defects, ensure_ascii=False),
            "modules_text": "gl",
            "cves_text": ",".join(cves),
            "severity": severity,
            "advisory": severity != "none" or bool(cves),
        },
        "defects": defects,
        "cves": cves,
    }


def seed(app, products: list[str]) -> dict:
    """PACKAGES packages in bulk; returns some of their defect ids and CVEs to look up."""
    rng, now = random.Random(25), datetime(2026, 1, 1)
    engine = app.extensions["distro.engine"]
    found = {"defects": [], "cves": []}
    started = time.perf_counter()
    batch = 5000
    for first in range(0, PACKAGES, batch):
        made = [_package(rng, n, products, now) for n in range(first, min(PACKAGES, first + batch))]
        searchable, references = [], []
        for item in made:
            row = item["package"]
            body = package_document(row["filename"], row["notes"], item["defects"], item["cves"])
            searchable.append(
                {
                    "package_id": row["id"],
                    "product_id": row["product_id"],
                    "body": body,
                    "grams": document_grams(body),
                }
            )
            refs = {d["id"] for d in item["defects"]} | set(item["cves"])
            references += [{"reference": r, "package_id": row["id"]} for r in refs]
            if len(found["defects"]) < 50 and item["defects"]:
                found["defects"].append(item["defects"][0]["id"])
            if len(found["cves"]) < 50 and item["cves"]:
                found["cves"].append(item["cves"][0])
        with engine.begin() as conn:
            conn.execute(insert(Package), [item["package"] for item in made])
            conn.execute(insert(PackageSearch), searchable)
            if references:
                conn.execute(insert(PackageReference), references)
    with app.app_context():
        session = app.extensions["distro.sessionmaker"]()
        refresh_statistics(session, "packages", "package_search", "package_references")
        session.close()
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  seeded {PACKAGES:,} packages in {time.perf_counter() - started:.0f} s", flush=True)
    return found


def queries(found: dict) -> dict[str, list[dict]]:
    """Query classes: each a list of argument sets the samples rotate through."""
    zh4 = [a + b for a, b in zip(ZH, ZH[1:], strict=False)]
    return {
        "Chinese word of 2 characters (过账)": [{"q": w} for w in ZH if len(w) == 2],
        "Chinese phrase of 4 characters (凭证过账)": [{"q": w} for w in zh4],
        "English word, any case (POSTING)": [{"q": w.upper()} for w in EN],
        "part of an English word (ouche)": [{"q": w[1:-1]} for w in EN if len(w) > 5],
        "two words (voucher 过账)": [{"q": f"{e} {z}"} for e, z in zip(EN, ZH, strict=False)],
        "defect id, exact": [{"q": d} for d in found["defects"]],
        "CVE, exact": [{"q": c} for c in found["cves"]],
        "filters only (erp, high or graver)": [{"product": "erp", "severity": "high"}],
        "word + installed version (8.0.1)": [{"q": w, "installed": "8.0.1"} for w in ZH[:10]],
    }


def timed(client, headers, args_list: list[dict], samples: int = SAMPLES) -> list[float]:
    took = []
    for i in range(samples):
        args = args_list[i % len(args_list)]
        started = time.perf_counter()
        answer = client.get("/api/v1/search", query_string=args, headers=headers)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.get_json()
    return took


@contextmanager
def without_gram_index():
    """Search as if there were no gram index: every query reads the packages newest first
    and checks each one's folded text (the same request, ranking and paging)."""
    kept = search._grams
    search._grams = lambda query: []
    try:
        yield
    finally:
        search._grams = kept


def show_plan(app, user_id: str) -> None:
    with app.test_request_context():
        session = app.extensions["distro.sessionmaker"]()
        actor = Actor(user=session.get(User, user_id))
        query = search.parse_query("过账")
        stmt = search.listing(session, actor, query)
        stmt = stmt.order_by(stmt.selected_columns[0].desc()).limit(51)
        sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        if session.get_bind().dialect.name == "postgresql":
            plan = session.execute(text(f"EXPLAIN {sql}")).scalars().all()
        else:
            plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
        print("  plan of q=过账:\n    " + "\n    ".join(plan), flush=True)
        session.close()


def run(kind: str) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="distro-search-"))
    config = bench_config(kind, work, RATELIMIT_ENABLED=False, STAFF_MFA="off")
    print(f"== {kind}: {PACKAGES:,} packages", flush=True)
    app = make_app(config)
    runner = app.test_cli_runner()
    world = seed_world(runner)
    grant_license(runner, org="acme", version="8.0")
    found = seed(app, [world.ids["erp"], world.ids["crm"]])
    show_plan(app, world.ids["it@acme.test"])
    client = app.test_client()
    # This process holds the test harness too (moto, hypothesis, ...: 190,000 objects
    # against 30,000 in a server worker), and a full collection of them takes 65 ms where
    # a worker's takes 5: that pause is the harness's, not search's, so what exists now is
    # left out of collection (requests still collect what they make).
    gc.collect()
    gc.freeze()
    rows = []
    for name, args_list in queries(found).items():
        for who in ("pub@vendor.test", "it@acme.test"):
            took = timed(client, world.auth(who), args_list)
            p50, p99 = percentile(took, 50), percentile(took, 99)
            scan = None
            if "q" in args_list[0]:
                with without_gram_index():
                    scan = percentile(timed(client, world.auth(who), args_list, 40), 50)
            vs = f"{scan:,.1f} ms: {scan / p50:,.1f}x" if scan else "-"
            ok = "yes" if p99 <= TARGET_MS else "NO"
            role = "staff" if who.startswith("pub") else "customer"
            line = f"| {kind} | {name} | {role} | {p50:,.1f} | {p99:,.1f} | {ok} | {vs} |"
            rows.append(line)
            print("  " + line, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    rows = run(parser.parse_args().db)
    print(
        "\n| database | query | caller | p50 ms | p99 ms | p99 ≤ 50 ms "
        "| without the index: p50, ours faster by |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0 if all("| yes |" in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
