"""Start the reference endpoint: python -m passbg_server --port 7001 --origin http://127.0.0.1:8000"""

from __future__ import annotations

import argparse
import os
import sys

from passbg.errors import PassbgError
from passbg_server.pipeline.run import DEFAULT_STEPS, STEPS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m passbg_server",
        description="passbg's rembg-compatible endpoint (POST /api/remove) for the page's cloud fallback.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7001)
    p.add_argument("--origin", action="append", default=[],
                   help="page origin allowed to call the API from a browser (CORS); repeatable; '*' = any")
    p.add_argument("--model", default=None,
                   help="model id in the manifest (default: rmbg-1.4 if built, else isnet-fp16)")
    p.add_argument("--models-dir", default=None, help="folder with manifest.json (default: static/models)")
    p.add_argument("--token-env", default="PASSBG_TOKEN",
                   help="environment variable holding the bearer token; unset = no token needed")
    p.add_argument("--max-mb", type=float, default=15.0, help="largest upload in MB (default 15)")
    p.add_argument("--max-megapixels", type=float, default=24.0, help="largest photo (default 24 MP)")
    p.add_argument("--queue", type=int, default=8, help="requests admitted at once; more get 503 (default 8)")
    p.add_argument("--workers", type=int, default=1, help="requests running the model at once (default 1)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: cores)")
    p.add_argument("--steps", default=",".join(DEFAULT_STEPS),
                   help="server pipeline steps beyond the whole frame, comma-separated from "
                        f"{', '.join(STEPS)}; 'none' = the page's own pipeline "
                        f"(default {','.join(DEFAULT_STEPS)})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import uvicorn

    from passbg.core.backend_ort import OrtBackend
    from passbg.core.models import load_manifest
    from passbg.passport.photo import ort_face_finder
    from passbg_server.app import RemoveApp, Settings
    from passbg_server.engine import Engine, choose_model
    from passbg_server.logs import LogSink
    from passbg_server.pipeline import ServerPipeline, parse_steps

    try:
        manifest = load_manifest(args.models_dir)
        spec = choose_model(manifest, args.model)
        spec.path.stat()
        steps = parse_steps(args.steps)
        faces = ort_face_finder(manifest, args.threads) if "region" in steps else None
    except (PassbgError, OSError, ValueError) as err:
        print(f"server: {err}", file=sys.stderr)
        return 2
    settings = Settings(
        origins=tuple(args.origin),
        token=os.environ.get(args.token_env) or None,
        max_bytes=int(args.max_mb * 1024 * 1024),
        max_pixels=int(args.max_megapixels * 1e6),
        queue=max(1, args.queue),
        workers=max(1, args.workers),
    )
    backend = OrtBackend(threads=args.threads)
    engine = Engine(spec=spec, backend=backend, max_pixels=settings.max_pixels,
                    pipeline=ServerPipeline(spec, backend, steps, faces))
    app = RemoveApp(engine, settings)
    sink = LogSink(sys.stderr)  # uvicorn's messages too: log_config=None keeps uvicorn off stderr itself
    sink.install()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="on",
                    log_config=None)
    finally:
        sink.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
