"""Streaming parse of a publish request's multipart body.

Werkzeug's sans-IO decoder is fed from the request stream in 1 MiB reads. Form fields
are collected (small, bounded); the one file part goes straight into a writer that
`open_file(fields_so_far, filename)` opens when the part starts. Because the callback
sees the fields sent before the file, it can refuse bad input before a single byte is
stored, and stream directly to the final content key when a `sha256` came first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
)

from distro.core.errors import TooLarge, ValidationError
from distro.storage.base import BlobWriter

READ_SIZE = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 50


@dataclass
class ParsedUpload:
    fields: dict[str, str]
    filename: str | None
    writer: BlobWriter | None


def _invalid(message: str) -> ValidationError:
    return ValidationError(f"malformed multipart body: {message}", code="invalid_upload")


def _decoder(content_type: str | None) -> MultipartDecoder:
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data":
        raise ValidationError("send multipart/form-data with a file field", code="invalid_upload")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200 or not boundary.isascii():
        raise _invalid("the Content-Type has no usable boundary")
    # The decoder's own size limit bounds its read buffer, not a field, so fields are
    # measured below instead.
    return MultipartDecoder(boundary.encode(), max_parts=MAX_PARTS)


def stream_upload(
    stream, content_type: str | None, open_file: Callable[[dict[str, str], str], BlobWriter]
) -> ParsedUpload:
    """Read the whole body; returns the fields, the file name and its (unfinished) writer."""
    decoder = _decoder(content_type)
    parsed = ParsedUpload({}, None, None)
    name, value, in_file = None, bytearray(), False
    while True:
        chunk = stream.read(READ_SIZE)
        try:
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while not isinstance(event, NeedData | Epilogue):
                if isinstance(event, File):
                    if event.name != "file" or parsed.writer is not None:
                        raise _invalid("send exactly one file, in a field named 'file'")
                    parsed.filename, in_file = event.filename, True
                    parsed.writer = open_file(dict(parsed.fields), event.filename)
                elif isinstance(event, Field):
                    name, value, in_file = event.name, bytearray(), False
                elif isinstance(event, Data) and in_file:
                    parsed.writer.write(event.data)
                elif isinstance(event, Data):
                    value += event.data
                    if len(value) > MAX_FIELD_BYTES:
                        raise TooLarge(f"form fields are limited to {MAX_FIELD_BYTES} bytes")
                    if not event.more_data:
                        parsed.fields[name] = value.decode("utf-8", "replace")
                event = decoder.next_event()
        except RequestEntityTooLarge:
            raise TooLarge(f"a form may have at most {MAX_PARTS} parts") from None
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        if isinstance(event, Epilogue):
            return parsed
        if not chunk:
            raise _invalid("the body ended before the closing boundary")
