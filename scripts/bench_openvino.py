"""The text encoder on ONNX Runtime's CPU provider against the OpenVINO provider (issue 14).

Needs an ONNX Runtime build with OpenVINO, which is not one of the project's dependencies:
    python -m venv /tmp/ov && /tmp/ov/bin/pip install onnxruntime-openvino numpy tokenizers
    /tmp/ov/bin/python scripts/bench_openvino.py --model models/build/random-vit-b-32

Every configuration runs in this one process on the same queries, each query at its real
length (the graphs' dynamic `sequence` axis, as the app runs them): what a person types, every
prefix of it too, as the app encodes while typing. Quality is the cosine of each embedding to
the FP32 graph on the CPU provider. Prints a Markdown table and writes JSON (`--json`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from bench_app import QUERIES, cpu_flags  # the app benchmark's (this script's folder)
from tokenizers import Tokenizer

# The reference (the cosines' FP32 embeddings) comes first.
CONFIGS = [
    ("CPU provider", "text_fp32", "cpu", None),
    ("CPU provider", "text_hybrid_int8", "cpu", None),
    ("OpenVINO, f32", "text_fp32", "ov", "f32"),
    ("OpenVINO, f32", "text_hybrid_int8", "ov", "f32"),
    ("OpenVINO, bf16", "text_fp32", "ov", "bf16"),
    ("OpenVINO, bf16", "text_hybrid_int8", "ov", "bf16"),
]


def token_ids(tokenizer: Tokenizer, text: str) -> np.ndarray:
    return np.array([tokenizer.encode(text).ids], dtype=np.int64)


def session(path: Path, provider: str, threads: int, hint: str | None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if provider == "cpu":
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ov = {"device_type": "CPU", "num_of_threads": str(threads)}
    if hint is not None:
        # OpenVINO's CPU plugin reads its precision from this property; `precision` of the
        # provider options offers FP32/FP16/ACCURACY only.
        ov["load_config"] = json.dumps({"CPU": {"INFERENCE_PRECISION_HINT": hint}})
    s = ort.InferenceSession(str(path), options, providers=[("OpenVINOExecutionProvider", ov)])
    # ONNX Runtime falls back to its CPU provider, with only a logged error, when OpenVINO fails.
    if "OpenVINOExecutionProvider" not in s.get_providers():
        raise SystemExit(f"OpenVINO did not load for {path.name}: {s.get_providers()}")
    return s


def measure(make, inputs: list[np.ndarray], rounds: int) -> dict:
    started = time.perf_counter()
    s = make()
    created_ms = (time.perf_counter() - started) * 1e3
    name = s.get_inputs()[0].name
    first, outputs = [], []
    for ids in inputs:  # the first time each query (and so each length) is seen
        t = time.perf_counter()
        outputs.append(s.run(None, {name: ids})[0][0])
        first.append((time.perf_counter() - t) * 1e3)
    again = []
    for _ in range(rounds):
        for ids in inputs:
            t = time.perf_counter()
            s.run(None, {name: ids})
            again.append((time.perf_counter() - t) * 1e3)
    again.sort()
    rss = {
        k: round(int(v.split()[0]) / 1024)
        for k, v in (line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        if k in ("VmRSS", "VmHWM")
    }
    return {
        "rss_mb": rss["VmRSS"],
        "peak_rss_mb": rss["VmHWM"],
        "session_ms": round(created_ms),
        "first_p50_ms": round(statistics.median(first), 2),
        "first_max_ms": round(max(first), 2),
        "p50_ms": round(statistics.median(again), 2),
        "p95_ms": round(again[int(0.95 * (len(again) - 1))], 2),
        "outputs": np.stack(outputs),
        "providers": s.get_providers(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an exported model folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the inputs")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--outputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    tokenizer = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    texts = sorted({q[:n] for q in QUERIES for n in range(3, len(q) + 1)} | set(QUERIES))
    inputs = [token_ids(tokenizer, t) for t in texts]
    lengths = sorted({i.shape[1] for i in inputs})
    if args.only is not None:  # one configuration, in a process of its own (its memory alone)
        label, graph, provider, hint = CONFIGS[args.only]
        path = args.model / f"{graph}.onnx"
        result = measure(lambda: session(path, provider, args.threads, hint), inputs, args.rounds)
        np.save(args.outputs, result.pop("outputs"))
        print(json.dumps(result | {"runtime": label, "graph": graph}))
        return
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(len(CONFIGS)):
            outputs = Path(tmp) / f"{n}.npy"
            child = [sys.executable, __file__, "--model", str(args.model), "--threads", str(args.threads)]
            child += ["--rounds", str(args.rounds), "--only", str(n), "--outputs", str(outputs)]
            ran = subprocess.run(child, check=True, capture_output=True, text=True)
            result = json.loads(ran.stdout.strip().splitlines()[-1])
            out = np.load(outputs)
            out = out / np.linalg.norm(out, axis=1, keepdims=True)
            if reference is None:
                reference = out
            cosines = np.sum(out * reference, axis=1)
            result |= {"cosine_min": float(cosines.min()), "cosine_mean": float(cosines.mean())}
            rows.append(result)
            print(json.dumps(result), flush=True)

    print(f"\nCPU flags: {cpu_flags()}; {args.threads} threads; ONNX Runtime {ort.__version__}")
    print(f"{len(texts)} texts of {lengths[0]}-{lengths[-1]} tokens, {args.rounds} timed rounds\n")
    print(
        "| runtime | graph | session (ms) | first run p50 / max (ms) | p50 (ms) | p95 (ms) "
        "| RSS / peak (MB) | cosine to FP32, min |"
    )
    print("| :-- | :-- | --: | --: | --: | --: | --: | --: |")
    for r in rows:
        print(
            f"| {r['runtime']} | {r['graph']} | {r['session_ms']} | {r['first_p50_ms']} / "
            f"{r['first_max_ms']} | {r['p50_ms']} | {r['p95_ms']} | {r['rss_mb']} / {r['peak_rss_mb']} "
            f"| {r['cosine_min']:.6f} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cpu_flags": cpu_flags(),
                    "threads": args.threads,
                    "onnxruntime": ort.__version__,
                    "texts": len(texts),
                    "rows": rows,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
