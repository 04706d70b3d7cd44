"""The commands of build.py (build, serve, test, pin), their parser, and main(): every failure ends as
one line ``build.py: error: ...`` with exit code 1, never a traceback (PASSBG_BUILD_DEBUG=1 shows one)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .bench_site import step_bench
from .fetch import run
from .files import HashMemo, Pins, read_json
from .layout import REPO, Context, Layout
from .models import step_models
from .npm import step_npm
from .pyodide import step_pyodide_wheels
from .report import BuildError, MiB, Report
from .runtime import step_runtime
from .serve import make_server
from .site import step_site
from .venv import step_venv

DESCRIPTION = (
    "Build, serve and test passbg.  Python 3.11+ standard library only: it runs before any venv exists."
)
CHROMIUM = Path("/usr/bin/chromium")


def make_context(args: argparse.Namespace, steps: int, record: bool = False) -> Context:
    """The Context for the command line's folders (default: the repository, .cache, node_modules)."""
    cache = Path(args.cache_dir).resolve() if args.cache_dir else REPO / ".cache"
    nm = Path(args.node_modules).resolve() if args.node_modules else REPO / "node_modules"
    out = Path(args.out_dir).resolve() if args.out_dir else REPO
    layout = Layout(
        repo=REPO, cache=cache, node_modules=nm, out=out, custom_node_modules=bool(args.node_modules)
    )
    return Context(
        layout=layout,
        pins=Pins(layout.pins, record=record),
        memo=HashMemo(cache / "hash-memo.json"),
        report=Report(steps),
        rmbg_file=Path(args.rmbg_file).resolve() if args.rmbg_file else None,
        rmbg_allow_unpinned=args.rmbg_allow_unpinned,
    )


def build(args: argparse.Namespace, extras: tuple[str, ...] = ("native",)) -> Context:
    """Run every build step (the venv last, unless --no-venv) and print the one-line tally."""
    with_venv = not args.no_venv
    ctx = make_context(args, steps=7 if with_venv else 6)
    start = time.monotonic()
    try:
        step_npm(ctx)
        wheels = step_pyodide_wheels(ctx)
        step_runtime(ctx, wheels)
        step_models(ctx)
        step_site(ctx)
        step_bench(ctx)
        if with_venv:
            step_venv(ctx, extras)
    finally:
        ctx.memo.save()
    R = ctx.report
    took = time.monotonic() - start
    if not R.changed and not R.downloaded_bytes:
        print(f"build.py: everything up to date: nothing downloaded, nothing changed ({took:.1f} s)")
    else:
        print(
            f"build.py: done in {took:.1f} s: downloaded {R.downloaded_bytes / MiB:.1f} MB, "
            f"changed {len(R.changed)} files"
        )
    return ctx


def cmd_build(args: argparse.Namespace) -> int:
    """python build.py [build]"""
    build(args)
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    """python build.py pin: record the sha256 and size of every fetched file in build/pins.json."""
    ctx = make_context(args, steps=5, record=True)
    try:
        step_npm(ctx)
        wheels = step_pyodide_wheels(ctx)
        step_runtime(ctx, wheels)
        step_models(ctx)
        step_bench(ctx)
    finally:
        ctx.memo.save()
    catalogue = read_json(ctx.layout.catalogue, "the model catalogue")
    hub = [f"static/models/{m['file']}" for m in catalogue["models"] if m["fetch"]["kind"] == "huggingface"]
    entries, changed = ctx.pins.save(keep=hub)
    print(f"build.py: wrote build/pins.json: {entries} files, {changed} changed")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """python build.py serve: build (unless --no-build), then serve site/ until Ctrl+C."""
    if not args.no_build:
        build(args)
    root = Path(args.out_dir).resolve() / "site" if args.out_dir else REPO / "site"
    if not (root / "index.html").is_file():
        raise BuildError(f"{root}/index.html does not exist; run python build.py first")
    try:
        server = make_server(root, args.host, args.port, args.verbose)
    except OSError as e:
        raise BuildError(f"cannot listen on {args.host}:{args.port} ({e.strerror}); try --port N") from None
    host, port = server.server_address[:2]
    print(f"build.py: serving {root} at http://{host}:{port}/  (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nbuild.py: stopped")
    finally:
        server.server_close()
    return 0


def ensure_chromium() -> None:
    """Make sure Debian's Chromium is there for the browser tests (apt-get install it as root)."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"build.py: {CHROMIUM} missing; installing Debian's chromium with apt-get", flush=True)
        run(["apt-get", "update"], "apt-get update", "check the network connection to the Debian mirror")
        run(
            ["apt-get", "install", "-y", "chromium"],
            "apt-get install chromium",
            "install it by hand: apt-get install -y chromium",
        )
        if CHROMIUM.exists():
            return
    raise BuildError(f"Chromium not found at {CHROMIUM}; install it with: sudo apt-get install -y chromium")


def cmd_test(args: argparse.Namespace) -> int:
    """python build.py test: build with the test extras, then run pytest with the given arguments."""
    if args.no_build:
        ctx = make_context(args, steps=1)
        step_venv(ctx, ("native", "test"))
    else:
        build(args, extras=("native", "test"))
    ensure_chromium()
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", *pytest_args]
    print("build.py: " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=REPO).returncode


def parser() -> argparse.ArgumentParser:
    """The command line of build.py: the commands and the options they share."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("where things go")
    g.add_argument("--cache-dir", metavar="DIR", help="download cache (default .cache/)")
    g.add_argument(
        "--node-modules",
        metavar="DIR",
        help="use this node_modules as is instead of running npm (default ./node_modules)",
    )
    g.add_argument(
        "--out-dir",
        metavar="DIR",
        help="put static/vendor, static/models and site/ under DIR instead of the repository",
    )
    g.add_argument("--no-venv", action="store_true", help="skip the CPython .venv step")
    m = common.add_argument_group("RMBG-1.4 (not in any package registry)")
    m.add_argument(
        "--rmbg-file", metavar="PATH", help="use this local copy of briaai/RMBG-1.4 onnx/model.onnx"
    )
    m.add_argument(
        "--rmbg-allow-unpinned",
        action="store_true",
        help="accept --rmbg-file even when build/pins.json has no sha256 for it",
    )

    p = argparse.ArgumentParser(
        prog="build.py",
        description=DESCRIPTION,
        epilog="Without a command, 'build' runs.  "
        "'python build.py COMMAND --help' shows a command's options.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    b = sub.add_parser(
        "build",
        parents=[common],
        help="fetch, verify and assemble everything (default)",
        description="Fetch, verify and assemble: npm, Pyodide wheels, static/vendor, "
        "static/models, site/, .venv.  Idempotent; a rerun downloads nothing.",
    )
    b.set_defaults(func=cmd_build)
    s = sub.add_parser(
        "serve",
        parents=[common],
        help="build, then serve site/ on loopback",
        description="Serve site/ with COOP/COEP headers (needed for ORT threads) and the right MIME types.",
    )
    s.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--no-build", action="store_true", help="serve site/ as it is")
    s.add_argument("--verbose", action="store_true", help="log one line per request")
    s.set_defaults(func=cmd_serve)
    t = sub.add_parser(
        "test",
        parents=[common],
        help="build, prepare .venv[test] and Chromium, run pytest",
        description="Everything after the build.py options goes to pytest, e.g. "
        "'python build.py test -- -k manifest -x'.",
    )
    t.add_argument("--no-build", action="store_true", help="only make sure .venv has the test extras")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    t.set_defaults(func=cmd_test)
    pin = sub.add_parser(
        "pin",
        parents=[common],
        help="rewrite build/pins.json from the fetched sources",
        description="Fetch sources and record the sha256 and size of every file the site "
        "will contain.  Only for deliberate upgrades; normal builds verify against it.",
    )
    pin.set_defaults(func=cmd_pin)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command (build when none is named); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"build", "serve", "test", "pin"}
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BuildError as e:
        print(f"build.py: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("build.py: error: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        print(
            f"build.py: error: {e.strerror or e}{where}; fix that and run python build.py again",
            file=sys.stderr,
        )
    except Exception as e:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("PASSBG_BUILD_DEBUG"):
            raise
        print(
            f"build.py: error: unexpected {type(e).__name__}: {e} (PASSBG_BUILD_DEBUG=1 shows a traceback)",
            file=sys.stderr,
        )
    return 1
