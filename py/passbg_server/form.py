"""multipart/form-data parsed in memory (never spooled to disk), with limits on parts and headers."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

MAX_PARTS = 16


class FormError(ValueError):
    """The request body is not a usable multipart form; str(err) says why in plain words."""


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytearray = field(default_factory=bytearray)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type header; FormError when it is something else."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise FormError("Send the photo as multipart/form-data with the image in the field 'file'.")
    return params[b"boundary"]


def parse_form(body: bytes, boundary: bytes) -> dict[str, Part]:
    """All parts of a multipart body by field name (the first of each name wins)."""
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    current = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        headers.clear()
        if len(parts) >= MAX_PARTS:
            raise FormError(f"The form has more than {MAX_PARTS} fields.")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current["value"] += data[start:end]

    def on_header_end() -> None:
        headers[current["field"].lower()] = current["value"]
        current["field"], current["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        parts.append(
            Part(
                name=name,
                filename=None if filename is None else filename.decode("utf-8", "replace"),
                content_type=headers.get(b"content-type", b"").decode("latin-1").strip().lower(),
            )
        )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except FormError:
        raise
    except Exception as err:  # noqa: BLE001 - the parser raises several types for malformed bodies
        raise FormError(f"The multipart form is malformed ({type(err).__name__}).") from None
    form: dict[str, Part] = {}
    for part in parts:
        form.setdefault(part.name, part)
    return form
