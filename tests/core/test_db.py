"""The embedded database under gevent: writers wait for each other cooperatively."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# One gevent thread, two greenlets: the first holds the write lock while it waits on
# something cooperative (here a sleep, in production the network); the second wants
# the lock. With SQLite's busy wait the second would block the only thread, the first
# could never commit, and the second would fail after its timeout.
SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import sys, time
    import gevent
    from sqlalchemy import text
    from distro.core.db import make_engine

    engine = make_engine(sys.argv[1])
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))

    def holder():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            gevent.sleep(0.5)

    def waiter():
        gevent.sleep(0.1)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))

    started = time.monotonic()
    gevent.joinall([gevent.spawn(holder), gevent.spawn(waiter)], raise_error=True)
    with engine.connect() as conn:
        rows = [n for (n,) in conn.execute(text("SELECT n FROM t ORDER BY n"))]
    print(rows, round(time.monotonic() - started, 1))
    """
)


def test_a_writer_waits_for_another_without_freezing_the_gevent_thread(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'db.sqlite'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows, seconds = done.stdout.split("] ")
    assert rows == "[1, 2"
    assert float(seconds) < 5  # SQLite's own wait would have lasted its full 30 s
