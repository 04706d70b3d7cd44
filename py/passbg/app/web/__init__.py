"""The browser side of passbg: the functions the page calls in its Python worker (static/app/worker.py).

Runs only in Pyodide (its modules import ``js`` and ``pyodide`` lazily, inside the calls, so importing
the package in CPython never needs them). Inference goes through onnxruntime-web via
``static/app/ort-bridge.mjs`` (passbg.app.web.engine); the numpy core does everything else, exactly as in
CPython. Everything returned to the page is plain data: JSON strings and byte arrays.
"""

from passbg.app.web.passport import custom_check, passport, passport_bytes, passport_file, presets_list
from passbg.app.web.photo import (
    alpha_bytes,
    init,
    process,
    quality_overlay,
    recomposite,
    result_bytes,
)
from passbg.app.web.second_opinion import cloud_prepare, cloud_upload_bytes, process_cloud
from passbg.app.web.state import set_progress

__all__ = [
    "alpha_bytes",
    "cloud_prepare",
    "cloud_upload_bytes",
    "custom_check",
    "init",
    "passport",
    "passport_bytes",
    "passport_file",
    "presets_list",
    "process",
    "process_cloud",
    "quality_overlay",
    "recomposite",
    "result_bytes",
    "set_progress",
]
