"""The model manifest (`static/models/manifest.json`, written by build.py): which models exist and how
to feed them.

Schema (see docs/architecture.md): each model has `id`, `file`, `input` {name, size [width, height],
resize, divide_by (number or "image_max"), mean[3], std[3]}, `output` {index, postprocess "clip" |
"minmax", optional levels [low, high]}, plus descriptive `title`, `sha256`, `bytes`, `licence`, `source`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passbg.errors import SetupError

MANIFEST_NAME = "manifest.json"
ENV_MODELS_DIR = "PASSBG_MODELS_DIR"
RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "box")
POSTPROCESS_METHODS = ("clip", "minmax")
SEGMENTATION = "segmentation"  # the `kind` of an entry without one; other kinds are helpers (face models)
_BUILD_HINT = "Run `python build.py` to fetch and assemble the models."


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its input tensor: (1, 3, height, width) float32, RGB,
    value = (pixel / divide_by - mean) / std, where divide_by "image_max" means the resized image's max."""

    name: str
    size: tuple[int, int]  # (width, height)
    resize: str
    divide_by: float | str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    # True when the graph takes any height and width (build/derive_model.py any-size): a region can then
    # be segmented at the size it feeds instead of `size`; `stride` is what such sizes are rounded to.
    any_size: bool = False
    stride: int = 32


@dataclass(frozen=True)
class OutputSpec:
    index: int
    postprocess: str
    levels: tuple[float, float] | None = None  # optional override of passbg.core.matte.DEFAULT_LEVELS


@dataclass(frozen=True)
class ModelSpec:
    id: str
    title: str
    file: str
    input: InputSpec
    output: OutputSpec
    sha256: str = ""
    bytes: int = 0
    licence: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    root: Path | None = None  # folder holding `file`, when known (not in the browser)
    kind: str = SEGMENTATION

    @property
    def path(self) -> Path:
        """Where the .onnx file lives on disk."""
        if self.root is None:
            raise SetupError(f"The model '{self.id}' has no folder on disk. {_BUILD_HINT}")
        return self.root / self.file


@dataclass(frozen=True)
class Manifest:
    models: dict[str, ModelSpec]  # segmentation models only: what the model menus list
    default: str
    helpers: dict[str, ModelSpec] = field(default_factory=dict)  # other kinds (face models), by kind

    def helper(self, kind: str) -> ModelSpec:
        """The helper model of `kind` (e.g. "face-detector"); SetupError when it was not built."""
        try:
            return self.helpers[kind]
        except KeyError:
            raise SetupError(f"The {kind} model is not installed. {_BUILD_HINT}") from None

    def get(self, model_id: str | None = None) -> ModelSpec:
        """The spec of `model_id` (the default model when None)."""
        key = self.default if model_id is None else model_id
        try:
            return self.models[key]
        except KeyError:
            known = ", ".join(self.models) or "none"
            raise SetupError(f"Unknown model '{key}'. Available models: {known}.") from None

    def ids(self) -> list[str]:
        return list(self.models)


def default_models_dir() -> Path:
    """Where models live: $PASSBG_MODELS_DIR, else `<repo>/static/models` when running from the source
    tree, else a `models` folder beside the installed package. Returns the first that holds a manifest
    (the repo location when none does, so error messages point at where build.py writes)."""
    env = os.environ.get(ENV_MODELS_DIR)
    if env:
        return Path(env)
    package_dir = Path(__file__).resolve().parents[1]  # passbg/, this module is passbg/core/models.py
    repo_models = package_dir.parent.parent / "static" / "models"
    for candidate in (repo_models, package_dir.parent / "models", package_dir / "models"):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    return repo_models


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """Read a manifest from a file, or from a folder holding `manifest.json`
    (default: default_models_dir())."""
    path = Path(path) if path is not None else default_models_dir()
    file = path / MANIFEST_NAME if path.is_dir() or path.suffix != ".json" else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"No model manifest at {file}. {_BUILD_HINT}") from None
    except OSError as err:
        raise SetupError(f"Cannot read the model manifest {file}: {err}.") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise SetupError(f"The model manifest {file} is not valid JSON ({err}). {_BUILD_HINT}") from None
    return parse_manifest(obj, root=file.parent)


def parse_manifest(obj: dict[str, Any], root: Path | None = None) -> Manifest:
    """Build a Manifest from the parsed JSON (the browser fetches the text itself and calls this)."""
    try:
        models, helpers = {}, {}
        for entry in obj["models"]:
            spec = _parse_model(entry, root)
            if spec.kind == SEGMENTATION:
                models[spec.id] = spec
            else:
                helpers[spec.kind] = spec
        default = obj.get("default") or next(iter(models), "")
    except (KeyError, TypeError, ValueError, StopIteration) as err:
        raise SetupError(
            f"The model manifest is malformed ({type(err).__name__}: {err}). {_BUILD_HINT}"
        ) from None
    if not models:
        raise SetupError(f"The model manifest lists no models. {_BUILD_HINT}")
    if default not in models:
        raise SetupError(f"The manifest's default model '{default}' is not among its models.")
    return Manifest(models=models, default=default, helpers=helpers)


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def _parse_model(entry: dict[str, Any], root: Path | None) -> ModelSpec:
    inp, out = entry["input"], entry["output"]
    width, height = (int(v) for v in inp["size"])
    divide_by = inp.get("divide_by", 255)
    if divide_by != "image_max":
        divide_by = float(divide_by)
        if divide_by <= 0:
            raise ValueError(f"divide_by must be positive, got {divide_by}")
    resize = inp.get("resize", "bilinear")
    if resize not in RESIZE_METHODS:
        raise ValueError(f"resize must be one of {RESIZE_METHODS}, got {resize!r}")
    std = _triple(inp["std"])
    if min(std) <= 0:
        raise ValueError("std values must be positive")
    postprocess = out.get("postprocess", "clip")
    if postprocess not in POSTPROCESS_METHODS:
        raise ValueError(f"postprocess must be one of {POSTPROCESS_METHODS}, got {postprocess!r}")
    levels = out.get("levels")
    if levels is not None:
        low, high = (float(v) for v in levels)
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"levels must satisfy 0 <= low < high <= 1, got {levels}")
        levels = (low, high)
    return ModelSpec(
        id=str(entry["id"]),
        title=str(entry.get("title", entry["id"])),
        file=str(entry["file"]),
        input=InputSpec(
            name=str(inp["name"]),
            size=(width, height),
            resize=resize,
            divide_by=divide_by,
            mean=_triple(inp["mean"]),
            std=std,
            any_size=bool(inp.get("any_size", False)),
            stride=int(inp.get("stride", 32)),
        ),
        output=OutputSpec(index=int(out.get("index", 0)), postprocess=postprocess, levels=levels),
        sha256=str(entry.get("sha256", "")),
        bytes=int(entry.get("bytes", 0)),
        licence=dict(entry.get("licence", {})),
        source=str(entry.get("source", "")),
        root=root,
        kind=str(entry.get("kind", SEGMENTATION)),
    )
