"""The package's data files (passbg/data/*.json): the one place that reads them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def read_text(name: str) -> str:
    """The text of passbg/data/<name> (UTF-8)."""
    return resources.files("passbg").joinpath("data", name).read_text(encoding="utf-8")


@cache
def read_json(name: str) -> Any:
    """passbg/data/<name> parsed, read once per process. Callers must not mutate the result."""
    return json.loads(read_text(name))
