"""The isolation headers and MIME types the page needs, read from http-headers.json beside this file: the
one owner of those facts for build.py's server (serve.py) and the service worker (stamped by offline.py).

Read on first use, not at import, so a broken file ends the build with one BuildError line."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import NamedTuple

from .report import BuildError

HEADERS_FILE = Path(__file__).resolve().with_name("http-headers.json")


class HttpFacts(NamedTuple):
    isolation: dict[str, str]  # cross-origin isolation: sent by the server, baked into sw.js's answers
    server: dict[str, str]  # sent by build.py's server only (revalidation)
    types: dict[str, str]  # MIME type by file ending, e.g. ".wasm"


def load(path: Path = HEADERS_FILE) -> HttpFacts:
    """The three tables of path, checked for shape (names and file endings to strings)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        facts = HttpFacts(doc["isolation"], doc["server"], doc["types"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        reason = f"{type(e).__name__}: {e}"
        raise BuildError(f"{path} is missing or broken ({reason}); restore it with git") from None
    for table in facts:
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise BuildError(f"{path}: every table must map names to strings; restore it with git")
    if not all(ending.startswith(".") for ending in facts.types):
        raise BuildError(f"{path}: every key of 'types' must be a file ending such as '.wasm'")
    return facts


@functools.cache
def facts() -> HttpFacts:
    """The tables of HEADERS_FILE, read once."""
    return load()


def security_headers() -> dict[str, str]:
    """Every answer of build.py's server: the isolation headers, then the server's own."""
    return {**facts().isolation, **facts().server}


def __getattr__(name: str) -> dict[str, str]:
    # The names build.py had as module constants, read on first use.
    if name == "MIME_TYPES":
        return facts().types
    if name == "ISOLATION_HEADERS":
        return facts().isolation
    if name == "SECURITY_HEADERS":
        return security_headers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
