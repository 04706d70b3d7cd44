"""The package's layers point one way (numeric <- core <- quality <- passport <- app), the product never
imports the developer tools or the server, and the numpy core imports no browser module: checked with
import-linter on the real tree, and shown to fail on a copy with a deliberate violation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(py_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(py_dir)}
    return subprocess.run(
        [str(LINT), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=py_dir, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture()
def tree_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "py"
    shutil.copytree(REPO / "py", dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def test_the_layers_hold_on_the_real_tree():
    result = lint(REPO / "py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("passbg/core/matte.py", "from passbg.quality import checks as _upward", "passbg layers"),
        ("passbg/numeric/boxfilter.py", "import passbg.core.models as _upward", "passbg layers"),
        ("passbg/quality/scene.py", "from passbg.passport import presets as _upward", "passbg layers"),
        ("passbg/core/decode.py", "import passbg_dev.eval as _tool", "developer tools"),
        ("passbg/core/pipeline.py", "import js as _browser", "browser module"),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(tree_copy: Path, module: str, line: str, contract: str):
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint(tree_copy)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(contract in ln for ln in broken), result.stdout
