"""INT8 dynamic quantization of the text tower, layer by layer, and the seed's sensitivity sweep.

The selected strategy ("hybrid"): only the token-embedding Gather is INT8 (a 49408×512 table, 38% of
the file); every transformer layer stays FP32. The sweep quantizes the first 12−N layers' MatMuls too,
keeping the last N in FP32, to show what that costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from . import corpus
from .drift import Check
from .runtime import TEXT_INPUT, pad_batch, session

MIB = 1024 * 1024
LAYER = re.compile(r"/layers\.(\d+)/")
# Status rule of the sweep (the seed accepted 0.9989 on average): mean and worst cosine to FP32.
SWEEP_MIN_MEAN, SWEEP_MIN_WORST = 0.998, 0.99


def token_embedding_gather(model: onnx.ModelProto) -> onnx.NodeProto:
    """The Gather that reads the token-embedding table (the [vocab, width] initializer)."""
    inits = {i.name: i for i in model.graph.initializer}
    candidates = [
        n
        for n in model.graph.node
        if n.op_type == "Gather"
        and n.input[0] in inits
        and len(inits[n.input[0]].dims) == 2
        and inits[n.input[0]].dims[0] > 1000
    ]
    if len(candidates) != 1:
        raise ValueError(f"expected one token-embedding Gather, found {[n.name for n in candidates]}")
    return candidates[0]


def layer_count(model: onnx.ModelProto) -> int:
    return 1 + max(int(m.group(1)) for n in model.graph.node if (m := LAYER.search(n.name)))


def quantize_text(fp32: Path, out: Path, fp32_layers: int | None) -> Path:
    """Quantize the token embedding, plus the MatMuls of all but the last `fp32_layers` layers.

    `fp32_layers=None` (or the layer count) is the hybrid model: the embedding only.
    """
    model = onnx.load(str(fp32))
    layers = layer_count(model)
    keep = layers if fp32_layers is None else fp32_layers
    nodes = [token_embedding_gather(model).name]
    for n in model.graph.node:
        m = LAYER.search(n.name)
        if n.op_type == "MatMul" and m and int(m.group(1)) < layers - keep:
            nodes.append(n.name)
    quantize_dynamic(
        str(fp32),
        str(out),
        op_types_to_quantize=["Gather", "MatMul"],
        nodes_to_quantize=nodes,
        weight_type=QuantType.QInt8,
        per_channel=False,
        extra_options={"MatMulConstBOnly": True},
    )
    return out


def encode_all(path: Path, queries: list[str], tok) -> np.ndarray:
    sess = session(path)
    return np.stack([sess.run(None, {TEXT_INPUT: pad_batch([tok.encode(q).ids])})[0][0] for q in queries])


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def agreement(fp32: Path, quantized: Path, tok, name: str) -> Check:
    """Worst cosine of a quantized text graph to its FP32 source over the fixed query set."""
    queries = corpus.query_set()
    cos = cosines(encode_all(quantized, queries, tok), encode_all(fp32, queries, tok))
    return Check(name, float(cos.min()), 0.0, min_cosine=SWEEP_MIN_WORST)


@dataclass
class SweepRow:
    fp32_layers: int
    mib: float
    mean_cosine: float
    worst_cosine: float

    @property
    def ok(self) -> bool:
        return self.mean_cosine >= SWEEP_MIN_MEAN and self.worst_cosine >= SWEEP_MIN_WORST


def sweep(fp32: Path, work: Path, tok, fp32_layers=(0, 3, 6, 12)) -> list[SweepRow]:
    """The seed's table: for each N, quantize all but the last N layers and compare to FP32."""
    queries = corpus.query_set()
    base = encode_all(fp32, queries, tok)
    rows = []
    for n in fp32_layers:
        path = work / f"text_sweep_fp32_layers_{n}.onnx"
        quantize_text(fp32, path, fp32_layers=n)
        cos = cosines(encode_all(path, queries, tok), base)
        rows.append(SweepRow(n, path.stat().st_size / MIB, float(cos.mean()), float(cos.min())))
    return rows


def sweep_table(rows: list[SweepRow], fp32: Path, n_queries: int) -> str:
    lines = [
        f"| FP32 layers | File size (MiB) | Mean cosine vs FP32 ({n_queries} queries) | Worst cosine | Status |",
        "| :-- | --: | --: | --: | :-- |",
        f"| FP32 baseline | {fp32.stat().st_size / MIB:.1f} | 1.00000 | 1.00000 | reference |",
    ]
    for r in rows:
        label = "0 (full quant)" if r.fp32_layers == 0 else str(r.fp32_layers)
        status = "ok" if r.ok else "fails the rule"
        lines.append(f"| {label} | {r.mib:.1f} | {r.mean_cosine:.5f} | {r.worst_cosine:.5f} | {status} |")
    return "\n".join(lines)


def initializer_arrays(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
