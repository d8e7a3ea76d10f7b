"""S3 implementation of the object storage interface (any S3-compatible server).

Uploads are multipart through s3transfer (boto3's transfer manager) with a bounded
number of parts in flight, so memory stays at a few parts whatever the object's size.
"""

from __future__ import annotations

import io
import logging
import queue
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from distro.core.clock import utcnow
from distro.core.errors import DistroError, RuleViolation, StorageUnavailable
from distro.storage import splice
from distro.storage.base import UPLOAD_PREFIX, HashingWriter, StoredObject, blob_key

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
# Two parts in flight kept a 1 GiB upload to moto as fast as four (bench/transfer.py)
# while the worker's peak RSS growth fell from ~95 MiB to ~65 MiB: each part in memory
# costs about twice its size once copies and malloc arenas are counted.
PARTS_IN_FLIGHT = 2
PIPE_CHUNKS = 8  # chunks of the request body (up to 1 MiB each) waiting for s3transfer
# Proxied downloads are relayed 256 KiB at a time, as the client takes them: on gevent
# workers a reader running ahead of the client (four 4 MiB chunks) measured slower, not
# faster (0.64-0.66 of a direct GET against 0.71-0.74, bench/transfer.py's method), and
# a thousand slow downloads hold 256 MiB, not 16 GiB.
PROXY_CHUNK = 256 * 1024
CONNECT_SECONDS = 5
READ_SECONDS = 60  # a store that sends nothing for this long ends the download
# Connections kept to the store: one per download in flight, many of them on slow lines.
MAX_CONNECTIONS = 1000


def _translate(exc: Exception, key: str) -> Exception:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            return FileNotFoundError(key)
        return StorageUnavailable(f"the object store refused the request ({code})")
    return StorageUnavailable("the object store cannot be reached")


def _chunks(body, key: str) -> Iterator[bytes]:
    """The body in PROXY_CHUNK pieces; closing the iterator releases the connection.

    A failure here cuts a download short after its headers went out: the client sees a
    short body, and the log says why (the WSGI server keeps quiet about resets).
    """
    received = 0
    try:
        for chunk in body.iter_chunks(PROXY_CHUNK):
            received += len(chunk)
            yield chunk
    except Exception as exc:
        log.error("reading %s from the object store failed after %d bytes: %r", key, received, exc)
        raise
    finally:
        body.close()


class S3Writer(HashingWriter):
    """Streams an upload into S3 with s3transfer's multipart machinery.

    The request thread writes; s3transfer's threads read from a bounded pipe, cut parts
    and upload PARTS_IN_FLIGHT of them at once, so memory stays at a few parts whatever
    the object's size. The object is completed only after finish() has accepted the
    bytes; abort() (or a refusal) fails the transfer instead, which aborts the
    multipart upload, and what a dead store keeps is left for `distro storage sweep`.
    """

    def __init__(
        self,
        store: S3FileStorage,
        max_bytes: int,
        final_key: str | None = None,
        proven_sha256: str | None = None,
    ):
        super().__init__(max_bytes, proven_sha256)
        self._store = store
        # Writing to the final content key saves a server-side copy of the whole object;
        # finish() completes it only when the bytes hash to that key.
        self.final = final_key is not None
        self.temp_key = final_key or f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
        self._pipe = _Pipe()
        self._manager = create_transfer_manager(store.client, _transfer_config())
        self._future = self._manager.upload(self._pipe, store.bucket, store.full(self.temp_key))
        self._closed = False

    def write(self, data: bytes) -> int:
        self._account(data)
        self._hand_over(bytes(data))
        return len(data)

    def finish(self) -> str:
        if self.final and blob_key(self.hexdigest()) != self.temp_key:
            self.abort()
            raise RuleViolation(
                "the file's SHA-256 does not match the sha256 sent before it",
                code="checksum_mismatch",
            )
        self._hand_over(_END_OF_FILE)
        self._wait()
        try:
            stored = self._store.size(self.temp_key)
        except FileNotFoundError:
            stored = 0
        if stored != self.size:  # never expected; a short object must not be published
            self._store.delete(self.temp_key)
            raise StorageUnavailable(
                f"the object store kept {stored} of the upload's {self.size} bytes"
            )
        return self.temp_key

    def _hand_over(self, item) -> None:
        while not self._pipe.push(item):
            if self._future.done():  # s3transfer stopped reading: say why
                self._wait()
                raise StorageUnavailable("the object store stopped taking the upload")

    def abort(self) -> None:
        if not self._future.done():
            self._pipe.fail(_Aborted("the upload was abandoned"))
        try:
            self._wait()
        except Exception:
            pass  # expected: the transfer fails, which aborts the multipart upload
        if not self.final:  # a completed content object may be shared: sweep decides
            try:
                self._store.delete(self.temp_key)
            except (DistroError, OSError):
                pass  # left for `distro storage sweep`

    def _wait(self) -> None:
        try:
            self._future.result()
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.temp_key) from None
        finally:
            if self._future.done() and not self._closed:
                self._closed = True
                self._manager.shutdown()


class _Aborted(Exception):
    pass


class _Pipe(io.RawIOBase):
    """A bounded, blocking byte pipe between the request thread and s3transfer.

    s3transfer reads it like a file that cannot seek (it asks for a part's worth and
    takes less only at the end); the end carries a verdict, so a refused upload is never
    completed: read() raises it instead of returning the end of file.
    """

    def __init__(self, depth: int = PIPE_CHUNKS):
        super().__init__()
        self._queue: queue.Queue = queue.Queue(depth)
        self._rest = b""
        self._ended: BaseException | bool = False

    def readable(self) -> bool:
        return True

    def push(self, item) -> bool:
        """Hand over a chunk (or the end); False after a second without room, so that
        the writer can check that the transfer is still alive."""
        try:
            self._queue.put(item, timeout=1)
        except queue.Full:
            return False
        return True

    def fail(self, failure: BaseException) -> None:
        """End with an error instead of the end of file; never blocks, since the reader
        may be gone. Only the writer puts, so after draining there is room."""
        self._drain()
        self._queue.put_nowait(failure)

    def read(self, size: int = -1) -> bytes:
        pieces, have = [], 0
        if self._rest:
            pieces, have, self._rest = [self._rest], len(self._rest), b""
        while size < 0 or have < size:
            item = self._next()
            if item is None:
                break
            pieces.append(item)
            have += len(item)
        data = b"".join(pieces)
        if 0 <= size < len(data):
            data, self._rest = data[:size], data[size:]
        return data

    def _next(self) -> bytes | None:
        if self._ended is True:
            return None
        if self._ended:
            raise self._ended
        item = self._queue.get()
        if item is _END_OF_FILE:
            self._ended = True
            return None
        if isinstance(item, BaseException):
            self._ended = item
            raise item
        return item

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass


_END_OF_FILE = object()


def _transfer_config() -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=PARTS_IN_FLIGHT,
        preferred_transfer_client="classic",
    )
    # Parts read from the pipe and not yet sent; s3transfer's default of 10 would hold
    # 80 MiB of every upload in memory.
    config.max_in_memory_upload_chunks = PARTS_IN_FLIGHT
    return config


class S3FileStorage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        receive_buffer: int = 256 * 1024,
    ):
        self.bucket = bucket
        self.receive_buffer = receive_buffer
        self.prefix = f"{prefix}/" if prefix else ""
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=CONNECT_SECONDS,
            read_timeout=READ_SECONDS,
            max_pool_connections=MAX_CONNECTIONS,
            s3={"payload_signing_enabled": False},
        )
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def full(self, key: str) -> str:
        return self.prefix + key

    def open_writer(
        self, max_bytes: int, final_key: str | None = None, *, proven_sha256: str | None = None
    ) -> S3Writer:
        return S3Writer(self, max_bytes, final_key, proven_sha256)

    def promote(self, temp_key: str, final_key: str) -> None:
        if temp_key == final_key:
            return
        try:
            if not self.exists(final_key):
                self.client.copy(
                    {"Bucket": self.bucket, "Key": self.full(temp_key)},
                    self.bucket,
                    self.full(final_key),
                    Config=TransferConfig(multipart_chunksize=64 * 1024 * 1024),
                )
            self.client.delete_object(Bucket=self.bucket, Key=self.full(temp_key))
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, final_key) from None

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.full(key))["ContentLength"]
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, key) from None

    def iter_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        if length <= 0:
            return iter(())
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.full(key), Range=f"bytes={start}-{start + length - 1}"
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, key) from None
        return _chunks(answer["Body"], key)

    def open_body(self, key: str, start: int, length: int) -> splice.OpenBody | None:
        """The range as an open GET for the zero-copy relay, on a plain-HTTP endpoint."""
        if not splice.available() or urlsplit(self.client.meta.endpoint_url).scheme != "http":
            return None
        url = self.client.generate_presigned_url(
            "get_object", ExpiresIn=300, Params={"Bucket": self.bucket, "Key": self.full(key)}
        )
        return splice.get_range(
            url,
            key,
            start,
            length,
            connect_timeout=CONNECT_SECONDS,
            read_timeout=READ_SECONDS,
            receive_buffer=self.receive_buffer,
        )

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        from distro.storage.httpfiles import content_disposition

        return self.client.generate_presigned_url(
            "get_object",
            ExpiresIn=seconds,
            Params={
                "Bucket": self.bucket,
                "Key": self.full(key),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": "application/octet-stream",
            },
        )

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full(key))
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, key) from None

    def list_objects(self) -> Iterator[StoredObject]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(
                        item["Key"][len(self.prefix) :],
                        item["Size"],
                        item["LastModified"].replace(tzinfo=None),
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.prefix) from None

    def abort_stale_multipart(self, older_than: timedelta, dry_run: bool) -> list[str]:
        """Multipart uploads that a killed publish never completed or aborted."""
        found = []
        try:
            answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
            for upload in answer.get("Uploads", []):
                if utcnow() - upload["Initiated"].replace(tzinfo=None) < older_than:
                    continue
                found.append(upload["Key"][len(self.prefix) :])
                if not dry_run:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.prefix) from None
        return found

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.bucket) from None
