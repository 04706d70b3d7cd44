"""Where things are: Layout (sources, cache and outputs; tests redirect them) and Context, what every
build step is handed (the layout, the pins, the hash memo, the report and what earlier steps found)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .files import HashMemo, Pins
from .report import Report

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Layout:
    """Where sources come from and where outputs go (tests redirect cache, node_modules and outputs)."""

    repo: Path
    cache: Path
    node_modules: Path
    out: Path
    custom_node_modules: bool = False

    @property
    def vendor(self) -> Path:
        return self.out / "static" / "vendor"

    @property
    def models(self) -> Path:
        return self.out / "static" / "models"

    @property
    def site(self) -> Path:
        return self.out / "site"

    @property
    def venv(self) -> Path:
        return self.repo / ".venv"

    @property
    def catalogue(self) -> Path:
        return self.repo / "py" / "passbg" / "data" / "models.json"

    @property
    def pins(self) -> Path:
        return self.repo / "build" / "pins.json"


@dataclass
class Context:
    """What the build steps share: where things are, the pins, the hash memo, the report, and what
    step_models found (the models present and the default) for the later steps."""

    layout: Layout
    pins: Pins
    memo: HashMemo
    report: Report
    rmbg_file: Path | None = None
    rmbg_allow_unpinned: bool = False
    models_present: list[dict] = field(default_factory=list)
    default_model: str | None = None

    def rel(self, path: Path) -> str:
        """Pin key of an output path: relative to the output root, e.g. static/vendor/ort/x.wasm."""
        return path.relative_to(self.layout.out).as_posix()
