"""Derive a wasm-friendly model variant from a fetched ONNX file (run by build.py with .venv's Python).

    python build/derive_model.py prune SRC DEST     drop the side outputs (keep the weight type)
    python build/derive_model.py any-size SRC DEST  accept any input height and width (same weights)

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


def any_size(model: onnx.ModelProto) -> int:
    """Let the graph take any input height and width: returns how many Resize targets were rewritten.

    Why: IS-Net and U2-Net were exported from PyTorch with their input fixed (1024 or 320 square), and
    each decoder `upsample_like(src, tar)` was traced as Resize(src, sizes=Concat(Shape(src)[0:2],
    Constant [h, w])): the target's height and width baked in as numbers. Making the input dims symbolic
    alone therefore fails at the first skip connection (a 25-wide skip meets a 32-wide upsample). The
    rewrite replaces each baked [h, w] with Shape(tar)[2:4] of the tensor the upsample is concatenated
    or added with (the side outputs upsample to the input itself), which is what the PyTorch code
    computes. At the export size every number is the same, so the mask is unchanged there."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    const_of = {}
    for n in graph.node:
        if n.op_type == "Constant":
            const_of[n.output[0]] = n
    input_name = graph.input[0].name

    def through_casts(name: str) -> list[tuple]:
        """(consumer node, the input name it reads) past any Cast nodes (the fp16 file casts around
        each Resize)."""
        out = []
        for c in consumers.get(name, []):
            if c.op_type == "Cast":
                out.extend(through_casts(c.output[0]))
            else:
                out.append((c, name))
        return out

    new_nodes = []
    rewritten = 0
    for node in list(graph.node):
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        sizes = producer.get(node.input[3])
        if sizes is None or sizes.op_type != "Concat" or len(sizes.input) != 2:
            continue
        baked = const_of.get(sizes.input[1])
        if baked is None:
            continue
        tar = input_name
        for c, via in through_casts(node.output[0]):
            if c.op_type in ("Concat", "Add"):
                others = [i for i in c.input if i != via]
                if others:
                    tar = others[0]
                    break
        shape_out = f"{node.name}/any_size/target_hw"
        shape = onnx.helper.make_node(
            "Shape", [tar], [shape_out], name=f"{node.name}/any_size/Shape", start=2, end=4
        )
        new_nodes.append(shape)
        sizes.input[1] = shape_out
        rewritten += 1
    graph.node.extend(new_nodes)
    # The baked [h, w] constants are now unused; drop them (onnxruntime warns about each otherwise).
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(kept)
    for v in list(graph.input) + list(graph.output):
        dims = v.type.tensor_type.shape.dim
        if len(dims) == 4:
            for d, name in ((dims[2], "height"), (dims[3], "width")):
                d.ClearField("dim_value")
                d.dim_param = name
    del graph.value_info[:]  # the traced shapes are the export size's; onnxruntime infers its own
    nodes = topological(list(graph.node), {i.name for i in graph.input} | {i.name for i in graph.initializer})
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


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
    if len(argv) != 3 or argv[0] not in ("prune", "any-size"):
        print(__doc__, file=sys.stderr)
        return 2
    src, dest = Path(argv[1]), Path(argv[2])
    model = onnx.load(str(src))
    if argv[0] == "prune":
        prune_outputs(model)
    elif any_size(model) == 0:
        raise SystemExit(f"{src.name}: no Resize with a baked target size found; nothing to rewrite")
    onnx.checker.check_model(model)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
