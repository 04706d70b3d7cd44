"""Driving a model sequence written once for both runtimes.

A sequence is a generator that yields (model kind, input tensor) for each model call it needs, is sent
that call's outputs back, and returns its answer. CPython runs the models synchronously, the browser
awaits onnxruntime-web: `drive` and `drive_async` are the two drivers, so no sequence is written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

Answer = TypeVar("Answer")
Steps = Generator[tuple[str, Any], Any, Answer]


def drive(steps: Steps[Answer], run: Callable[[str, Any], Any]) -> Answer:
    """Run the sequence, answering each (kind, tensor) with run(kind, tensor); its return value."""
    try:
        kind, tensor = next(steps)
        while True:
            kind, tensor = steps.send(run(kind, tensor))
    except StopIteration as done:
        return done.value


async def drive_async(steps: Steps[Answer], run: Callable[[str, Any], Awaitable[Any]]) -> Answer:
    """As drive, awaiting run(kind, tensor) for each step."""
    try:
        kind, tensor = next(steps)
        while True:
            kind, tensor = steps.send(await run(kind, tensor))
    except StopIteration as done:
        return done.value
