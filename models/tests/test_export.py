"""Export parity on a small random CLIP, and proof that the drift check can fail."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from clipstream_models import drift, export, runtime


def test_export_writes_opset14_graphs_with_dynamic_sequence(small_export):
    out, manifest = small_export
    text = onnx.load(str(out / "text_fp32.onnx"))
    assert {o.domain or "ai.onnx": o.version for o in text.opset_import}["ai.onnx"] == 14
    dims = text.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", "sequence"]
    fixed = onnx.load(str(out / "text_fp32_fixed77.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in fixed] == ["batch", 77]
    assert manifest["text"]["file"] == "text_hybrid_int8.onnx"
    assert manifest["embedding_dim"] == 16 and manifest["vision"]["image_size"] == 32


def test_text_parity_batches_and_padding(small_export, small_source, tokenizer):
    out, _ = small_export
    clip, _ = _load(small_source)
    checks = export.verify_text(clip, out / "text_fp32.onnx", tokenizer, 77, fixed=False)
    assert [c.name.split(" ", 1)[1] for c in checks] == ["batch 1", "batch 16", "unpadded vs padded to 77"]
    assert all(c.ok for c in checks), [c.line() for c in checks]


def test_vision_parity(small_export, small_source):
    out, _ = small_export
    clip, _ = _load(small_source)
    checks = export.verify_vision(clip, out / "vision.onnx")
    assert len(checks) == 2 and all(c.ok for c in checks), [c.line() for c in checks]


def test_drift_is_detected(small_export, small_source, tmp_path):
    """A graph whose weights differ from PyTorch's fails the check (the check is not vacuous)."""
    out, _ = small_export
    model = onnx.load(str(out / "vision.onnx"))
    init = max(model.graph.initializer, key=lambda i: int(np.prod(i.dims)))
    arr = numpy_helper.to_array(init).copy()
    # Noise, not a uniform scale: LayerNorm would cancel a scale.
    arr += np.random.default_rng(0).normal(0, 0.01 * arr.std(), arr.shape).astype(arr.dtype)
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(tmp_path / "vision.onnx"))
    clip, _ = _load(small_source)
    assert not all(c.ok for c in export.verify_vision(clip, tmp_path / "vision.onnx"))


def test_export_fails_with_nonzero_exit_on_drift(small_source, tmp_path, monkeypatch):
    from clipstream_models.__main__ import main

    drifted = drift.Check("vision.onnx batch 1", cosine=0.9, max_abs=0.5)
    monkeypatch.setattr(export, "verify_vision", lambda clip, path: [drifted])
    assert main(["export", "--source", str(small_source), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out" / "manifest.json").exists()


def _load(source):
    from clipstream_models.towers import load_clip

    return load_clip(source)


@pytest.mark.parametrize("rows,width", [([[1, 2], [3]], 2), ([[5]], 1)])
def test_pad_batch(rows, width):
    out = runtime.pad_batch(rows)
    assert out.shape == (len(rows), width) and out.dtype == np.int64
