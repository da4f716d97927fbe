"""Reproduce the seed's benchmark (section 3) on this machine, in one run.

Every configuration runs in its own process, so its peak RSS is that of a process holding only that
model (plus the Python interpreter and the runtime, whose share is measured on its own as a baseline).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import corpus, quantize
from . import tokenizer as clip_tokenizer
from .summary import machine

QUERY = "dog on a beach at sunset"  # 8 ids with <|startoftext|> and <|endoftext|>
MIB = 1024 * 1024


def _rss_mib() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent across fork+exec, so a small worker would report the benchmark driver's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _time(fn, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def worker(spec_json: str) -> None:
    """Run one configuration and print its figures as JSON (called in a fresh process)."""
    spec = json.loads(spec_json)
    kind, threads, runs = spec["kind"], spec["threads"], spec.get("runs", 0)
    result: dict = {}
    if kind in ("onnx-baseline", "torch-baseline"):
        if kind == "torch-baseline":
            import torch
        else:
            import onnxruntime  # noqa: F401
        result["rss_mib"] = _rss_mib()
    elif kind == "pytorch-text":
        import torch
        from transformers import CLIPTextModelWithProjection

        torch.set_num_threads(threads)
        model = CLIPTextModelWithProjection.from_pretrained(spec["source"], attn_implementation="eager").eval()
        ids = torch.tensor([spec["ids"]], dtype=torch.long)

        def run():
            with torch.no_grad():
                return model(input_ids=ids).text_embeds.numpy()

        result["latency_ms"] = _time(run, runs, 10)
        result["embedding"] = run()[0].tolist()
        result["rss_mib"] = _rss_mib()
    elif kind == "reference-indexing":
        result["images_per_s"] = _reference_indexing(Path(spec["source"]), Path(spec["folder"]), threads)
        result["rss_mib"] = _rss_mib()
    else:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(spec["path"], opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        if kind == "onnx-text":
            feed = {name: np.array([spec["ids"]], dtype=np.int64)}
            warmup = 10
        else:
            size = spec["image_size"]
            feed = {name: np.random.default_rng(0).standard_normal((spec["batch"], 3, size, size)).astype(np.float32)}
            warmup = 2
        result["latency_ms"] = _time(lambda: sess.run(None, feed), runs, warmup)
        if kind == "onnx-text":
            result["embedding"] = sess.run(None, feed)[0][0].tolist()
        result["rss_mib"] = _rss_mib()
    print(json.dumps(result))


def _reference_indexing(source: Path, folder: Path, threads: int, batch: int = 16) -> float:
    """Images/s of the plain Python pipeline: PIL (EXIF-transposed) → CLIPImageProcessor →
    PyTorch `get_image_features`, in batches, on `threads` threads."""
    import torch
    from PIL import Image, ImageOps
    from transformers import CLIPImageProcessor, CLIPModel

    torch.set_num_threads(threads)
    processor = CLIPImageProcessor.from_pretrained(source)
    model = CLIPModel.from_pretrained(source, attn_implementation="eager").eval()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    started = time.perf_counter()
    for i in range(0, len(files), batch):
        images = [ImageOps.exif_transpose(Image.open(f)).convert("RGB") for f in files[i : i + batch]]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            model.get_image_features(pixel_values=pixels)
    return len(files) / (time.perf_counter() - started)


def _tokenizer77():
    return clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)


def _query_ids(tok) -> tuple[list[int], list[int]]:
    """The benchmark query's token ids, unpadded and padded with 0 to 77."""
    ids = tok.encode(QUERY).ids
    return ids, ids + [0] * (77 - len(ids))


def _fixed77_specs(model_dir: Path, source: Path, padded: list[int]) -> dict[str, dict]:
    """The seed's three fixed-77 configurations, as worker specs."""
    return {
        "pytorch_fixed77": {"kind": "pytorch-text", "source": str(source), "ids": padded},
        "onnx_fp32_fixed77": {"kind": "onnx-text", "path": str(model_dir / "text_fp32_fixed77.onnx"), "ids": padded},
        "onnx_hybrid_fixed77": {
            "kind": "onnx-text",
            "path": str(model_dir / "text_hybrid_int8_fixed77.onnx"),
            "ids": padded,
        },
    }


def text_baselines(model_dir: Path, source: Path, threads: int, runs: int, out: Path, log=print) -> dict:
    """The seed's three fixed-77 baselines at `threads` threads, as JSON for scripts/bench.sh; the
    PyTorch embedding of the query goes beside it for the Rust side's cosine."""
    ids, padded = _query_ids(_tokenizer77())
    specs = _fixed77_specs(model_dir, source, padded)
    result: dict = {"query": QUERY, "tokens": len(ids), "threads": threads, "runs": runs}
    reference = None
    for name, spec in specs.items():
        log(f"{name} at {threads} threads")
        r = _spawn(spec | {"threads": threads, "runs": runs})
        reference = reference or r["embedding"]
        lat = r["latency_ms"]
        result[name] = {
            "median_ms": statistics.median(lat),
            "p99_ms": float(np.percentile(lat, 99)),
            "cosine_vs_pytorch": _cos(r["embedding"], reference),
            "peak_rss_mib": r["rss_mib"],
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    out.with_name("pytorch_query_embedding.json").write_text(json.dumps({"query": QUERY, "embedding": reference}))
    return result


def reference_indexing(source: Path, folder: Path, threads: int, out: Path) -> dict:
    r = _spawn({"kind": "reference-indexing", "source": str(source), "folder": str(folder), "threads": threads})
    result = {
        "pipeline": "PIL + ImageOps.exif_transpose + transformers CLIPImageProcessor + PyTorch get_image_features",
        "threads": threads,
        "images_per_s": r["images_per_s"],
        "peak_rss_mib": r["rss_mib"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


def _spawn(spec: dict) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]))
    out = subprocess.run(
        [sys.executable, "-m", "clipstream_models", "bench-worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cos(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def run_all(model_dir: Path, source: Path, report: Path, runs: int, log=print) -> None:
    import onnxruntime as ort
    import torch
    import transformers

    tok = _tokenizer77()
    ids, padded = _query_ids(tok)
    fixed77 = _fixed77_specs(model_dir, source, padded)
    weights = next(source.glob("*.safetensors"))
    text_rows = [
        ("PyTorch fixed-77 (CLIPTextModelWithProjection)", fixed77["pytorch_fixed77"], weights),
        ("ONNX FP32 fixed-77", fixed77["onnx_fp32_fixed77"], None),
        ("ONNX hybrid INT8 fixed-77", fixed77["onnx_hybrid_fixed77"], None),
        (
            f"ONNX FP32 dynamic ({len(ids)} tokens)",
            {"kind": "onnx-text", "path": str(model_dir / "text_fp32.onnx"), "ids": ids},
            None,
        ),
        (
            f"ONNX hybrid INT8 dynamic ({len(ids)} tokens)",
            {"kind": "onnx-text", "path": str(model_dir / "text_hybrid_int8.onnx"), "ids": ids},
            None,
        ),
    ]
    results = []
    reference = None
    for threads in (1, 2):
        for label, spec, size_file in text_rows:
            log(f"{label} at {threads} thread(s)")
            r = _spawn(spec | {"threads": threads, "runs": runs})
            if reference is None:
                reference = r["embedding"]
            size = (size_file or Path(spec["path"])).stat().st_size / MIB
            results.append((label, threads, r, size))
    baselines = {
        k: _spawn({"kind": k, "threads": 1, "runs": 0})["rss_mib"] for k in ("torch-baseline", "onnx-baseline")
    }

    vision = []
    manifest = json.loads((model_dir / "manifest.json").read_text())
    for threads in (1, 2):
        for batch, n in ((1, 30), (8, 8), (32, 4)):
            log(f"vision batch {batch} at {threads} thread(s)")
            r = _spawn(
                {
                    "kind": "onnx-vision",
                    "path": str(model_dir / "vision.onnx"),
                    "threads": threads,
                    "runs": n,
                    "batch": batch,
                    "image_size": manifest["vision"]["image_size"],
                }
            )
            vision.append((threads, batch, n, batch * 1000 / statistics.median(r["latency_ms"])))

    log("quantization sweep")
    sweep_rows = quantize.sweep(model_dir / "text_fp32.onnx", model_dir, tok)
    sweep = quantize.sweep_table(sweep_rows, model_dir / "text_fp32.onnx", len(corpus.query_set()))

    lines = [
        "# Model benchmarks (generated by `python -m clipstream_models bench`)",
        "",
        f"- Machine: {machine()}",
        f"- Versions: torch {torch.__version__}, transformers {transformers.__version__}, "
        f"onnxruntime {ort.__version__}",
        "- Model: the exact `openai/clip-vit-base-patch32` architecture with random weights "
        "(the hub is unreachable here), exported by `python -m clipstream_models export --fixed77`.",
        f'- Query: "{QUERY}" = {len(ids)} token ids; fixed-77 graphs get it padded with 0 to 77.',
        f"- Latency: one query per call, {runs} timed runs after 10 warm-up runs, intra-op threads as listed "
        "(ONNX Runtime: inter-op 1, spinning on by default; PyTorch: `torch.set_num_threads`).",
        "- Peak RSS: `VmHWM` of a fresh process that loaded only that model and ran it; for scale, such a "
        f"process with the runtime imported and no model peaks at {baselines['torch-baseline']:.0f} MiB (torch) "
        f"and {baselines['onnx-baseline']:.0f} MiB (onnxruntime).",
        "- Cosine: to the PyTorch embedding of the same query.",
        "",
        "## Text tower",
        "",
        "| Backend | Threads | Median (ms) | p90 (ms) | Cosine vs PyTorch | File (MiB) | Peak RSS (MiB) |",
        "| :-- | --: | --: | --: | --: | --: | --: |",
    ]
    for label, threads, r, size in results:
        lat = r["latency_ms"]
        p90 = float(np.percentile(lat, 90))
        lines.append(
            f"| {label} | {threads} | {statistics.median(lat):.1f} | {p90:.1f} | {_cos(r['embedding'], reference):.6f} "
            f"| {size:.1f} | {r['rss_mib']:.0f} |"
        )
    lines += [
        "",
        "PyTorch's file is the whole CLIP checkpoint (both towers), as the seed counted it.",
        "",
        "## Vision tower (ONNX FP32, N×3×224×224)",
        "",
        "| Threads | Batch | Timed runs | Images/s |",
        "| --: | --: | --: | --: |",
    ]
    lines += [f"| {t} | {b} | {n} | {ips:.1f} |" for t, b, n, ips in vision]
    lines += [
        "",
        "## Hybrid quantization sweep (the seed's section 2)",
        "",
        "The last N transformer layers stay FP32; the token embedding and the other layers' MatMuls are INT8 "
        f"(ONNX Runtime dynamic quantization). Status rule: mean cosine ≥ {quantize.SWEEP_MIN_MEAN} and worst ≥ "
        f"{quantize.SWEEP_MIN_WORST}. Random weights: how sensitive trained weights are can differ.",
        "",
        sweep,
        "",
    ]
    report.write_text("\n".join(lines))
    log("\n".join(lines))
