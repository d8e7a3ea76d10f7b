"""Read-ahead for bytes relayed from the object store to a client.

Relayed in one thread, reading and writing take turns: while a chunk is written to the
client nothing reads from S3, so the store's side stalls. bench/transfer.py measured
the proxy at 0.71-0.78 of a direct GET that way and 0.86-0.90 with a reader thread kept
two 4 MiB chunks ahead. Memory stays bounded: `depth` queued chunks, one being read and one
being written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

_POLL_SECONDS = 0.5


class _End:
    pass


class _Failure:
    def __init__(self, error: Exception):
        self.error = error


class ReadAhead:
    """Iterates `chunks` in a background thread, at most `depth` chunks ahead.

    An error in `chunks` is raised to the consumer at the point it happened. `close()`
    (which the WSGI server calls when the client is gone or the answer is sent) stops
    the thread and closes `chunks`; so does dropping the last reference.
    """

    def __init__(self, chunks: Iterator[bytes], depth: int = 2):
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._finished = False
        # The thread holds the queue and the event, never `self`, so that an abandoned
        # ReadAhead can still be collected and stop it.
        threading.Thread(
            target=_fill,
            args=(chunks, self._queue, self._stop),
            name="distro-readahead",
            daemon=True,
        ).start()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> bytes:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, bytes):
            return item
        self._finished = True
        self.close()
        if isinstance(item, _Failure):
            raise item.error
        raise StopIteration

    def close(self) -> None:
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def _fill(chunks: Iterator[bytes], out: queue.Queue, stop: threading.Event) -> None:
    try:
        for chunk in chunks:
            if not _put(out, stop, chunk):
                return
        _put(out, stop, _End())
    except Exception as error:  # handed to the consumer, which raises it
        _put(out, stop, _Failure(error))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _put(out: queue.Queue, stop: threading.Event, item) -> bool:
    """Wait for room unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False
