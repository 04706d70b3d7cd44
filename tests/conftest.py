"""Shared fixtures: the repo's `py` folder on sys.path, the shared portraits, the built models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "py") not in sys.path:
    sys.path.insert(0, str(REPO / "py"))

# The shared test photos live beside the repo (../shared/data/portraits); PASSBG_PORTRAITS overrides.
PORTRAITS_DIR = Path(os.environ.get("PASSBG_PORTRAITS", REPO.parent / "shared" / "data" / "portraits"))


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    if not (PORTRAITS_DIR / "images").is_dir():
        pytest.skip(f"no portraits at {PORTRAITS_DIR} (set PASSBG_PORTRAITS)")
    return PORTRAITS_DIR


@pytest.fixture(scope="session")
def portrait_tags(portraits_dir: Path) -> dict[str, set[str]]:
    """File name -> set of tags from manifest.csv (plain_bg, busy_bg, dark_hair, ...)."""
    import csv

    with open(portraits_dir / "manifest.csv", newline="", encoding="utf-8") as f:
        return {row["file"]: set(row["tags"].split()) for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The built models (passbg.core.models.default_models_dir(); PASSBG_MODELS_DIR overrides)."""
    from passbg.core.models import MANIFEST_NAME, default_models_dir

    path = default_models_dir()
    if not (path / MANIFEST_NAME).is_file():
        pytest.skip(f"no models at {path}: run `python build.py` (or set PASSBG_MODELS_DIR)")
    return path


@pytest.fixture(scope="session")
def manifest(models_dir: Path):
    from passbg.core.models import load_manifest

    return load_manifest(models_dir)


@pytest.fixture(scope="session")
def ort_backend():
    pytest.importorskip("onnxruntime")
    from passbg.core.backend_ort import OrtBackend

    return OrtBackend()
