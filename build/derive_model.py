"""Derive a wasm-friendly model variant from a fetched ONNX file (run by build.py with .venv's Python).

    python build/derive_model.py prune SRC DEST     drop the side outputs (keep the weight type)

Why: IS-Net has 11 side outputs (deep supervision heads) that the app never reads; a variant without
them and the layers only they use is the same size and gives the same mask. The output is a pure
function of the input bytes (no timestamps, no random ids), so its sha256 can be pinned.

There is no fp16 -> fp32 recipe any more: a stored fp32 copy doubled IS-Net to 176 MB (on a 100 Mbit/s
link the first result came 11 s later, 33.5 s against 22.4 s, and the offline copy held both files).
The page downloads the fp16 file and widens it in the browser instead (static/app/onnx-widen.mjs),
which keeps what fp32 gains in onnxruntime-web: ~150 MiB less peak memory and a faster first run.

Needs the `onnx` package (the `models` extra of pyproject.toml).
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx

KEEP_OUTPUT = "output"


def prune_outputs(model: onnx.ModelProto, keep: str = KEEP_OUTPUT) -> None:
    """Keep only the graph output `keep`, and only the nodes and weights it depends on."""
    graph = model.graph
    wanted = [o for o in graph.output if o.name == keep]
    if not wanted:
        raise SystemExit(f"the model has no output named {keep!r}")
    del graph.output[:]
    graph.output.extend(wanted)
    producer = {name: node for node in graph.node for name in node.output}
    needed, todo = set(), [keep]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in producer:
            todo.extend(i for i in producer[name].input if i)
    kept = [node for node in graph.node if any(name in needed for name in node.output)]
    del graph.node[:]
    graph.node.extend(topological(kept, {i.name for i in graph.input} | {i.name for i in graph.initializer}))
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    infos = [v for v in graph.value_info if v.name in needed]
    del graph.value_info[:]
    graph.value_info.extend(infos)


def topological(nodes: list, available: set[str]) -> list:
    """The nodes in an order where every input is produced before use (the fp16 file is not sorted,
    which onnxruntime tolerates but the ONNX checker does not). Ties keep the file's order."""
    available = set(available) | {""}
    done: list = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise SystemExit("the graph has a cycle or an input nobody produces")
        ready_ids = {id(n) for n in ready}
        for node in ready:
            available.update(node.output)
        done.extend(ready)
        pending = [n for n in pending if id(n) not in ready_ids]
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "prune":
        print(__doc__, file=sys.stderr)
        return 2
    src, dest = Path(argv[1]), Path(argv[2])
    model = onnx.load(str(src))
    prune_outputs(model)
    onnx.checker.check_model(model)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
