"""S3 implementation of the object storage interface (any S3-compatible server).

Uploads are multipart, parts sent by a small thread pool with a bounded number in
flight, so memory stays at a few parts whatever the object's size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .clock import utcnow
from .errors import RuleViolation, StorageUnavailable
from .readahead import ReadAhead
from .storage import UPLOAD_PREFIX, StoredObject, _Hashing, blob_key

PART_SIZE = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 4
# Proxied downloads read 4 MiB at a time, two chunks ahead of the client (see
# readahead.py): about 16 MiB per download in flight, measured against 1 MiB chunks
# relayed in turn in bench/transfer.py.
PROXY_CHUNK = 4 * 1024 * 1024
READ_AHEAD = 2


def _translate(exc: Exception, key: str) -> Exception:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            return FileNotFoundError(key)
        return StorageUnavailable(f"the object store refused the request ({code})")
    return StorageUnavailable("the object store cannot be reached")


def _chunks(body) -> Iterator[bytes]:
    """The body in PROXY_CHUNK pieces; closing the iterator releases the connection."""
    try:
        yield from body.iter_chunks(PROXY_CHUNK)
    finally:
        body.close()


class S3Writer(_Hashing):
    def __init__(self, store: S3FileStorage, max_bytes: int, final_key: str | None = None):
        super().__init__(max_bytes)
        self._store = store
        # Writing to the final content key saves a server-side copy of the whole object;
        # finish() completes it only when the bytes hash to that key.
        self.final = final_key is not None
        self.temp_key = final_key or f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
        self._completed = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._upload_id: str | None = None
        self._parts: list[Future] = []
        self._pool: ThreadPoolExecutor | None = None

    def write(self, data: bytes) -> int:
        self._account(data)
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= PART_SIZE:
            self._send_part(self._take_pending())
        return len(data)

    def _take_pending(self) -> bytes:
        body = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        return body

    def _send_part(self, body: bytes) -> None:
        store = self._store
        try:
            if self._upload_id is None:
                self._upload_id = store.client.create_multipart_upload(
                    Bucket=store.bucket, Key=store.full(self.temp_key)
                )["UploadId"]
                self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3part")
            while sum(not f.done() for f in self._parts) >= PARTS_IN_FLIGHT:
                next(f for f in self._parts if not f.done()).result()
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.temp_key) from None
        number = len(self._parts) + 1
        assert self._pool is not None
        self._parts.append(self._pool.submit(self._upload_part, number, body))

    def _upload_part(self, number: int, body: bytes) -> dict:
        store = self._store
        answer = store.client.upload_part(
            Bucket=store.bucket,
            Key=store.full(self.temp_key),
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def finish(self) -> str:
        store = self._store
        if self.final and blob_key(self.hexdigest()) != self.temp_key:
            self.abort()
            raise RuleViolation(
                "the file's SHA-256 does not match the sha256 sent before it",
                code="checksum_mismatch",
            )
        try:
            if self._upload_id is None:
                store.client.put_object(
                    Bucket=store.bucket, Key=store.full(self.temp_key), Body=self._take_pending()
                )
            else:
                if self._pending:
                    self._send_part(self._take_pending())
                parts = [f.result() for f in self._parts]
                store.client.complete_multipart_upload(
                    Bucket=store.bucket,
                    Key=store.full(self.temp_key),
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )
            self._completed = True
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, self.temp_key) from None
        finally:
            self._pending, self._pending_size = [], 0
            if self._pool:
                self._pool.shutdown(wait=True)
        return self.temp_key

    def abort(self) -> None:
        store = self._store
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            if self._upload_id and not self._completed:
                store.client.abort_multipart_upload(
                    Bucket=store.bucket, Key=store.full(self.temp_key), UploadId=self._upload_id
                )
            if not self.final:  # a completed content object may be shared: sweep decides
                store.client.delete_object(Bucket=store.bucket, Key=store.full(self.temp_key))
        except (BotoCoreError, ClientError):
            pass  # left for `distro storage sweep`


class S3FileStorage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ):
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=PARTS_IN_FLIGHT * 4,
        )
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def full(self, key: str) -> str:
        return self.prefix + key

    def open_writer(self, max_bytes: int, final_key: str | None = None) -> S3Writer:
        return S3Writer(self, max_bytes, final_key)

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
        return ReadAhead(_chunks(answer["Body"]), depth=READ_AHEAD)

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        from .httpfiles import content_disposition

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
