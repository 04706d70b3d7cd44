"""Convert a MediaPipe TFLite face model to ONNX (run by build.py with the converter venv's Python).

    python build/convert_face.py SRC.tflite DEST.onnx

The converter venv (<cache>/convert-venv) holds exactly FACE_CONVERTER of py/passbg_build/converter.py
(tflite2onnx, tflite, onnx); never .venv or the site. tflite2onnx writes initializers in a varying
order, so the model is re-serialised with initializers and value_info sorted by name: the same input
then always gives the same bytes, and build/pins.json pins them.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import onnx
import tflite2onnx


def convert(src: str, dst: str) -> None:
    """Write the canonical ONNX form of the TFLite file src to dst."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.onnx")
        tflite2onnx.convert(src, raw)
        model = onnx.load(raw)
    for field in (model.graph.initializer, model.graph.value_info):
        items = sorted(field, key=lambda item: item.name)
        del field[:]
        field.extend(items)
    with open(dst, "wb") as out:
        out.write(model.SerializeToString(deterministic=True))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    # One float16 warning per tensor; the outputs were checked against TFLite.
    logging.disable(logging.WARNING)
    convert(argv[0], argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
