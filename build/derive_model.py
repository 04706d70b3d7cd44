"""Derive a wasm-friendly model variant from a fetched ONNX file (run by build.py with .venv's Python).

    python build/derive_model.py fp32 SRC DEST      fp16 weights -> fp32, drop the side outputs
    python build/derive_model.py prune SRC DEST     only drop the side outputs (keep the weight type)

Why: onnxruntime's CPU/wasm kernels compute in fp32, so an fp16 graph gets Cast nodes around every
op and its weights converted at load; storing fp32 removes all of that. IS-Net also has 11 side
outputs (deep supervision heads) that the app never reads; the heads' convolutions and their
1024x1024 upsamplings still run unless the graph drops them. The output is a pure function of the
input bytes (no timestamps, no random ids), so its sha256 can be pinned.

Needs the `onnx` package (the `models` extra of pyproject.toml).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

KEEP_OUTPUT = "output"


def _fp16_tensor_to_fp32(tensor: TensorProto) -> TensorProto:
    array = numpy_helper.to_array(tensor).astype(np.float32)
    return numpy_helper.from_array(array, tensor.name)


def to_fp32(model: onnx.ModelProto) -> None:
    """Every fp16 tensor, constant, cast and type annotation becomes fp32; no-op casts are removed."""
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT16:
            graph.initializer[i].CopyFrom(_fp16_tensor_to_fp32(init))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                attr.t.CopyFrom(_fp16_tensor_to_fp32(attr.t))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
    for info in [*graph.input, *graph.output, *graph.value_info]:
        if info.type.tensor_type.elem_type == TensorProto.FLOAT16:
            info.type.tensor_type.elem_type = TensorProto.FLOAT
    # Now every Cast is float -> float (the model computes in float only): bypass them. The file's
    # nodes are not in topological order, so collect all bypasses before rewiring.
    outputs = {o.name for o in graph.output}
    renamed = {
        node.output[0]: node.input[0]
        for node in graph.node
        if node.op_type == "Cast"
        and node.attribute[0].i == TensorProto.FLOAT
        and node.output[0] not in outputs
    }

    def source(name: str) -> str:
        while name in renamed:
            name = renamed[name]
        return name

    kept = [node for node in graph.node if not (node.op_type == "Cast" and node.output[0] in renamed)]
    for node in kept:
        node.input[:] = [source(name) for name in node.input]
    del graph.node[:]
    graph.node.extend(kept)


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
    if len(argv) != 3 or argv[0] not in ("fp32", "prune"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, src, dest = argv[0], Path(argv[1]), Path(argv[2])
    model = onnx.load(str(src))
    if kind == "fp32":
        to_fp32(model)
    prune_outputs(model)
    onnx.checker.check_model(model)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
