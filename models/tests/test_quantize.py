"""The hybrid graph quantizes exactly the token embedding; the sweep quantizes what it says."""

import collections

import numpy as np
import onnx

from clipstream_models import quantize


def _ops(model):
    return collections.Counter(n.op_type for n in model.graph.node)


def test_hybrid_quantizes_only_the_token_embedding(small_export):
    out, _ = small_export
    fp32 = onnx.load(str(out / "text_fp32.onnx"))
    hybrid = onnx.load(str(out / "text_hybrid_int8.onnx"))
    table = quantize.token_embedding_gather(fp32).input[0]

    assert _ops(hybrid) - _ops(fp32) == collections.Counter({"DequantizeLinear": 1})
    assert _ops(fp32) - _ops(hybrid) == collections.Counter()

    before, after = quantize.initializer_arrays(fp32), quantize.initializer_arrays(hybrid)
    assert set(before) - set(after) == {table}
    added = set(after) - set(before)
    assert added == {f"{table}_quantized", f"{table}_scale", f"{table}_zero_point"}
    assert after[f"{table}_quantized"].dtype.itemsize == 1
    assert after[f"{table}_quantized"].shape == before[table].shape
    for name in set(before) & set(after):
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)

    dq = next(n for n in hybrid.graph.node if n.op_type == "DequantizeLinear")
    gather = next(n for n in hybrid.graph.node if n.output[0] == dq.input[0])
    assert gather.op_type == "Gather" and gather.input[0] == f"{table}_quantized"


def test_sweep_quantizes_the_first_layers(small_export, tmp_path):
    out, _ = small_export
    fp32 = out / "text_fp32.onnx"
    layers = quantize.layer_count(onnx.load(str(fp32)))
    assert layers == 3
    for keep in (0, 1, 3):
        path = quantize.quantize_text(fp32, tmp_path / f"q{keep}.onnx", fp32_layers=keep)
        model = onnx.load(str(path))
        quantized_layers = {
            int(m.group(1))
            for n in model.graph.node
            if n.op_type == "MatMulInteger" and (m := quantize.LAYER.search(n.name))
        }
        assert quantized_layers == set(range(layers - keep))


def test_sweep_rows(small_export, tmp_path, tokenizer):
    out, _ = small_export
    rows = quantize.sweep(out / "text_fp32.onnx", tmp_path, tokenizer, fp32_layers=(0, 3))
    assert [r.fp32_layers for r in rows] == [0, 3]
    assert rows[0].mib < rows[1].mib
    assert all(-1.0 <= r.worst_cosine <= r.mean_cosine <= 1.0 + 1e-6 for r in rows)
