"""The page worker's state and the plumbing every page call shares: progress messages, the words for
unexpected failures, model descriptions for the page."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from passbg.core import pipeline
from passbg.core.models import Manifest, ModelSpec
from passbg.errors import PassbgError


def now() -> float:
    return time.perf_counter() * 1000.0


@dataclass
class State:
    base_url: str = ""
    bridge: Any = None
    manifest: Manifest | None = None
    threads: int = 1
    isolated: bool = False
    progress: Any = None  # main-thread callback(json: str), set by the worker entry point
    # the last result, kept so a background change re-composites without a new inference
    last: pipeline.Result | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    quality: dict[str, Any] | None = None  # the last result's quality (passbg.quality.report.summary)
    report: Any = None  # the last result's passbg.quality.checks.QualityReport (for the overlay)
    cloud_image: Any = None  # the decoded photo the last cloud upload was made from


state = State()


def report_progress(stage: str, **info: Any) -> None:
    if state.progress is not None:
        state.progress(json.dumps({"stage": stage, **info}))


async def fetch_text(url: str) -> str:
    import js

    response = await js.fetch(url, js.Object.fromEntries([["cache", "no-cache"]]))
    if not response.ok:
        raise PassbgError(f"Could not load {url.rsplit('/', 1)[-1]} (HTTP {response.status}).")
    return await response.text()


def set_progress(callback: Any) -> None:
    """Register the page's progress callback (it takes one JSON string)."""
    state.progress = callback


def model_info(spec: ModelSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "bytes": spec.bytes,
        "licence": spec.licence,
        "source": spec.source,
    }


ENGINE_GONE = (
    "The photo engine stopped — the browser may have run out of memory. Your photo is still here: "
    "reload the page to try again, or use a smaller photo."
)


def failure(err: Exception, words: str) -> str:
    """The page's JSON for an exception nothing expected: the words for a dead onnxruntime worker when
    that is what it was, else `words` and the exception's type (the traceback goes to the console)."""
    if "engine:" in str(err):
        return json.dumps({"error": ENGINE_GONE})
    import traceback

    traceback.print_exc()
    return json.dumps({"error": f"{words} ({type(err).__name__})."})


def first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "no details"


def python_heap_bytes() -> int:
    """The size of Python's WebAssembly memory (it only ever grows, so this is its high-water mark);
    0 where it cannot be read."""
    try:
        import pyodide_js

        return int(pyodide_js._module.HEAPU8.length)
    except Exception:  # noqa: BLE001 - a diagnostic figure only
        return 0
