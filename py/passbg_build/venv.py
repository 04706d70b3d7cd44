"""Step 7: .venv, the CPython environment with passbg installed editable (pip install -e '.[extras]'),
stamped with pyproject.toml's sha256 and the extras so a rerun skips pip."""

from __future__ import annotations

import json
import sys

from .fetch import run
from .files import sha256_file, write_text_atomic
from .layout import Context
from .report import BuildError


def step_venv(ctx: Context, extras: tuple[str, ...] = ("native",)) -> None:
    L, R = ctx.layout, ctx.report
    R.step(f"CPython environment .venv (pip install -e '.[{','.join(extras)}]')")
    pyproject = L.repo / "pyproject.toml"
    if not pyproject.is_file():
        raise BuildError("pyproject.toml is missing; restore it with git")
    stamp_path = L.venv / ".passbg-stamp.json"
    want_sha = sha256_file(pyproject)
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    python = L.venv / "bin" / "python"
    have = set(stamp.get("extras", [])) if stamp.get("pyproject_sha256") == want_sha else set()
    if python.is_file() and set(extras) <= have:
        R.info(f"{L.venv.name} matches pyproject.toml: up to date")
        return
    if not python.is_file():
        R.info(f"creating {L.venv}")
        run(
            [sys.executable, "-m", "venv", str(L.venv)],
            "creating the virtual environment",
            "install the venv module (Debian: apt-get install -y python3-venv) and run python build.py again",
        )
    wanted = sorted(set(extras) | have)
    R.info(f"installing passbg[{','.join(wanted)}] in editable mode")
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-q",
            "-e",
            f".[{','.join(wanted)}]",
        ],
        "pip install into .venv",
        "check that PyPI is reachable, or delete .venv and try again",
        cwd=L.repo,
    )
    write_text_atomic(stamp_path, json.dumps({"pyproject_sha256": want_sha, "extras": wanted}) + "\n")
    R.wrote(".venv")
