"""Read-ahead relays every chunk in order, stays a bounded distance ahead, hands errors
to the consumer and stops reading (and closes the source) once the consumer is gone."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from distro.storage.readahead import ReadAhead


class Source:
    """Numbered chunks; records how far it was read and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None):
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.closed = threading.Event()

    def __iter__(self):
        try:
            for number in range(self.count):
                if number == self.fail_at:
                    raise ConnectionResetError("the store hung up")
                self.produced += 1
                yield b"%d;" % number
        finally:
            self.closed.set()


def settle(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_every_chunk_arrives_in_order_and_the_source_is_closed():
    source = Source(1000)
    assert b"".join(ReadAhead(iter(source), depth=2)) == b"".join(b"%d;" % n for n in range(1000))
    assert source.closed.wait(5)


def test_the_reader_stays_at_most_depth_chunks_ahead_of_a_slow_consumer():
    source = Source(100)
    chunks = ReadAhead(iter(source), depth=3)
    next(chunks)
    assert settle(lambda: source.produced >= 5)
    time.sleep(0.2)
    # one taken, three queued, one read and waiting for room
    assert source.produced == 5
    chunks.close()


def test_an_error_in_the_source_reaches_the_consumer_after_the_good_chunks():
    chunks = ReadAhead(iter(Source(10, fail_at=4)), depth=2)
    assert [next(chunks) for _ in range(4)] == [b"0;", b"1;", b"2;", b"3;"]
    with pytest.raises(ConnectionResetError, match="hung up"):
        next(chunks)
    assert list(chunks) == []


def test_closing_stops_reading_and_closes_the_source():
    source = Source(10_000)
    chunks = ReadAhead(iter(source), depth=2)
    next(chunks)
    chunks.close()
    assert source.closed.wait(5)
    assert source.produced < 10


def test_an_abandoned_reader_is_stopped_when_it_is_collected():
    source = Source(10_000)
    chunks = ReadAhead(iter(source), depth=2)
    next(chunks)
    del chunks
    gc.collect()
    assert source.closed.wait(5)
    assert source.produced < 10
