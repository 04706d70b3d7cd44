"""Step 1: node_modules exactly as package-lock.json names it (npm ci only when it is not already so)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .fetch import run
from .files import read_json, sha256_file, write_text_atomic
from .layout import Context
from .report import BuildError


def lock_matches_installed(lock: dict, hidden_lock: Path) -> bool:
    """True when node_modules/.package-lock.json (npm's record of what it installed) equals the lock."""
    try:
        installed = json.loads(hidden_lock.read_text()).get("packages", {})
    except (OSError, ValueError):
        return False
    wanted = {k: v for k, v in lock.get("packages", {}).items() if k}

    def essence(pkgs: dict) -> dict:
        return {k: (v.get("version"), v.get("integrity")) for k, v in pkgs.items()}

    return essence(installed) == essence(wanted)


def step_npm(ctx: Context) -> None:
    """Make node_modules match package-lock.json (stamped with the lock's sha256 once it does)."""
    L, R = ctx.layout, ctx.report
    R.step("JavaScript runtime (npm)")
    nm = L.node_modules
    if L.custom_node_modules:
        if not nm.is_dir():
            raise BuildError(f"--node-modules {nm} is not a directory")
        R.info(f"using {nm} as given (npm step skipped)")
        return
    lock_path = L.repo / "package-lock.json"
    if not lock_path.is_file():
        raise BuildError("package-lock.json is missing; restore it with 'git checkout package-lock.json'")
    lock_sha = sha256_file(lock_path)
    stamp = nm / ".passbg-lock-sha256"
    if stamp.is_file() and stamp.read_text().strip() == lock_sha:
        R.info("node_modules matches package-lock.json: up to date")
        return
    lock = read_json(lock_path, "package-lock.json")
    if nm.is_dir() and lock_matches_installed(lock, nm / ".package-lock.json"):
        R.info("node_modules already holds exactly what package-lock.json names; stamped it")
        write_text_atomic(stamp, lock_sha + "\n")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm not found: install Node.js 18+ with npm (Debian: apt-get install -y nodejs npm), "
            "then run python build.py again"
        )
    R.info("node_modules missing or older than package-lock.json: running npm ci")
    run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        "npm ci",
        "check the network connection to the npm registry and run python build.py again",
        cwd=L.repo,
    )
    write_text_atomic(stamp, lock_sha + "\n")
    R.wrote("node_modules")
