"""Export CLIP's text and vision towers to ONNX (opset 14), verify them against PyTorch, quantize the
text tower's token embedding, and write `manifest.json` + `tokenizer.json` beside them.

Fails (non-zero exit) when an exported graph drifts from PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from transformers import CLIPImageProcessor, CLIPModel

from . import corpus, quantize
from . import tokenizer as clip_tokenizer
from .drift import Check, compare
from .runtime import TEXT_INPUT, TEXT_OUTPUT, VISION_INPUT, VISION_OUTPUT, pad_batch, session
from .towers import TextTower, VisionTower

OPSET = 14
TEXT_FP32 = "text_fp32.onnx"
TEXT_HYBRID = "text_hybrid_int8.onnx"
TEXT_FP32_FIXED = "text_fp32_fixed77.onnx"
TEXT_HYBRID_FIXED = "text_hybrid_int8_fixed77.onnx"
VISION_FP32 = "vision.onnx"
TOKENIZER = "tokenizer.json"
MANIFEST = "manifest.json"


class DriftError(RuntimeError):
    """An exported graph does not reproduce PyTorch."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_text(clip: CLIPModel, path: Path, fixed_length: int | None = None) -> Path:
    """Text tower → ONNX. Dynamic batch, and dynamic sequence length unless `fixed_length` is given."""
    seq = fixed_length or 8
    example = torch.full((2, seq), 49407, dtype=torch.long)
    example[:, 0] = 49406
    axes = {TEXT_INPUT: {0: "batch"}, TEXT_OUTPUT: {0: "batch"}}
    if fixed_length is None:
        axes[TEXT_INPUT][1] = "sequence"
    with torch.no_grad():
        torch.onnx.export(
            TextTower(clip),
            (example,),
            str(path),
            input_names=[TEXT_INPUT],
            output_names=[TEXT_OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    _check_opset(path)
    return path


def export_vision(clip: CLIPModel, path: Path) -> Path:
    """Vision tower → ONNX with a dynamic batch."""
    size = clip.config.vision_config.image_size
    example = torch.zeros((2, 3, size, size))
    with torch.no_grad():
        torch.onnx.export(
            VisionTower(clip),
            (example,),
            str(path),
            input_names=[VISION_INPUT],
            output_names=[VISION_OUTPUT],
            dynamic_axes={VISION_INPUT: {0: "batch"}, VISION_OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    _check_opset(path)
    return path


def _check_opset(path: Path) -> None:
    model = onnx.load(str(path), load_external_data=False)
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if opsets.get("ai.onnx") != OPSET:
        raise DriftError(f"{path.name}: wrote opset {opsets}, wanted {OPSET}")


def torch_text(clip: CLIPModel, ids: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return TextTower(clip)(torch.from_numpy(ids)).numpy()


def torch_vision(clip: CLIPModel, pixels: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return VisionTower(clip)(torch.from_numpy(pixels)).numpy()


def verify_text(clip: CLIPModel, path: Path, tok, context_length: int, fixed: bool) -> list[Check]:
    """Batch 1 and batch > 1 against PyTorch; for dynamic graphs, unpadded == padded to the context.

    Why padding cannot change the embedding: attention is causal, so no position attends to a later
    one, and the tower reads out only the end-of-text position; tokens after it are never seen.
    """
    sess = session(path)
    queries = corpus.query_set(16)
    rows = [tok.encode(q).ids for q in queries]
    checks = []
    one = pad_batch(rows[:1], context_length if fixed else None)
    checks.append(compare(f"{path.name} batch 1", sess.run(None, {TEXT_INPUT: one})[0], torch_text(clip, one)))
    many = pad_batch(rows, context_length if fixed else None)
    checks.append(
        compare(f"{path.name} batch {len(rows)}", sess.run(None, {TEXT_INPUT: many})[0], torch_text(clip, many))
    )
    if not fixed:
        unpadded = np.stack([sess.run(None, {TEXT_INPUT: pad_batch([r])})[0][0] for r in rows])
        padded = sess.run(None, {TEXT_INPUT: pad_batch(rows, context_length)})[0]
        checks.append(compare(f"{path.name} unpadded vs padded to {context_length}", unpadded, padded))
    return checks


def verify_vision(clip: CLIPModel, path: Path) -> list[Check]:
    sess = session(path)
    size = clip.config.vision_config.image_size
    pixels = np.random.default_rng(0).standard_normal((4, 3, size, size)).astype(np.float32)
    return [
        compare(f"{path.name} batch 1", sess.run(None, {VISION_INPUT: pixels[:1]})[0], torch_vision(clip, pixels[:1])),
        compare(f"{path.name} batch 4", sess.run(None, {VISION_INPUT: pixels})[0], torch_vision(clip, pixels)),
    ]


def preprocessing(processor: CLIPImageProcessor) -> dict:
    """The image preprocessing the vision tower expects, as data the Rust side follows."""
    crop = processor.crop_size
    return {
        "reference": "transformers CLIPImageProcessor",
        "resize_shortest_edge": processor.size["shortest_edge"],
        "resample": "bicubic",
        "center_crop": [crop["height"], crop["width"]],
        "rescale_factor": processor.rescale_factor,
        "mean": list(processor.image_mean),
        "std": list(processor.image_std),
        "layout": "NCHW, RGB",
    }


def write_manifest(
    out: Path, model_id: str, clip: CLIPModel, processor: CLIPImageProcessor, text_file: str, extra: dict | None = None
) -> dict:
    """`manifest.json`: everything the app needs to run these files, each file with its SHA-256."""
    text_cfg = clip.config.text_config
    files = sorted(p for p in out.iterdir() if p.suffix in {".onnx", ".json"} and p.name != MANIFEST)
    manifest = {
        "format": 1,
        "model_id": model_id,
        "embedding_dim": clip.config.projection_dim,
        "context_length": text_cfg.max_position_embeddings,
        "text": {
            "file": text_file,
            "input": TEXT_INPUT,
            "output": TEXT_OUTPUT,
            "input_dtype": "int64",
            "dynamic_sequence": "fixed77" not in text_file,
            "normalized": False,
        },
        "tokenizer": {
            "file": TOKENIZER,
            "start_of_text_id": 49406,
            "end_of_text_id": 49407,
            "pad_id": 0,
            "vocab_size": text_cfg.vocab_size,
        },
        "vision": {
            "file": VISION_FP32,
            "input": VISION_INPUT,
            "output": VISION_OUTPUT,
            "image_size": clip.config.vision_config.image_size,
            "normalized": False,
            "preprocess": preprocessing(processor),
        },
        "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files},
        "tools": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "opset": OPSET,
        },
    }
    if extra:
        manifest.update(extra)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def export_all(
    source: str | Path,
    out: Path,
    model_id: str | None = None,
    fixed77: bool = False,
    keep_fp32_text: bool = True,
    extra_manifest: dict | None = None,
    log=print,
) -> dict:
    """Export, verify, quantize and describe one CLIP. Raises `DriftError` on any failed check."""
    from .towers import load_clip

    out.mkdir(parents=True, exist_ok=True)
    clip, processor = load_clip(source)
    context = clip.config.text_config.max_position_embeddings
    tok = clip_tokenizer.build_tokenizer()
    clip_tokenizer.save(tok, out / TOKENIZER)
    tok = clip_tokenizer.with_context_length(tok, context)

    checks: list[Check] = []
    log(f"exporting text tower of {source} (dynamic sequence)")
    export_text(clip, out / TEXT_FP32)
    checks += verify_text(clip, out / TEXT_FP32, tok, context, fixed=False)
    quantize.quantize_text(out / TEXT_FP32, out / TEXT_HYBRID, fp32_layers=None)
    checks += verify_text(clip, out / TEXT_HYBRID, tok, context, fixed=False)[2:]
    checks.append(quantize.agreement(out / TEXT_FP32, out / TEXT_HYBRID, tok, f"{TEXT_HYBRID} vs {TEXT_FP32}"))
    if fixed77:
        log("exporting the fixed 77-token text graph for comparison")
        export_text(clip, out / TEXT_FP32_FIXED, fixed_length=context)
        checks += verify_text(clip, out / TEXT_FP32_FIXED, tok, context, fixed=True)
        quantize.quantize_text(out / TEXT_FP32_FIXED, out / TEXT_HYBRID_FIXED, fp32_layers=None)
    log("exporting vision tower")
    export_vision(clip, out / VISION_FP32)
    checks += verify_vision(clip, out / VISION_FP32)

    for c in checks:
        log(c.line())
    bad = [c for c in checks if not c.ok]
    if bad:
        raise DriftError("ONNX drifted from PyTorch: " + "; ".join(c.name for c in bad))
    if not keep_fp32_text:
        (out / TEXT_FP32).unlink()
    id_ = model_id or str(source)
    return write_manifest(out, id_, clip, processor, TEXT_HYBRID, extra_manifest)
