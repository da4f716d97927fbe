"""Command line of the model pipeline: `python -m clipstream_models COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = MODELS_DIR / "build"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipstream_models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("export", help="export, verify and quantize a CLIP (hub id or local folder)")
    p.add_argument("--source", default="openai/clip-vit-base-patch32", help="hub id or save_pretrained folder")
    p.add_argument("--out", type=Path, help="output folder (default: models/build/<name>)")
    p.add_argument("--model-id", help="id recorded in the manifest (default: the source)")
    p.add_argument("--fixed77", action="store_true", help="also export the seed's fixed 77-token text graphs")

    p = sub.add_parser("random-vitb32", help="write a randomly initialised CLIP with the exact ViT-B/32 config")
    p.add_argument("--out", type=Path, default=BUILD_DIR / "random-vit-b-32-source")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("sweep", help="the seed's hybrid quantization sweep over an exported text tower")
    p.add_argument("--model-dir", type=Path, default=BUILD_DIR / "random-vit-b-32")
    p.add_argument("--report", type=Path, help="also write the table to this markdown file")

    p = sub.add_parser("train-tiny", help="train the small shapes CLIP and export it to models/tiny-clip")
    p.add_argument("--out", type=Path, default=MODELS_DIR / "tiny-clip")
    p.add_argument("--steps", type=int, default=2000, help="optimizer steps (batch 256)")
    p.add_argument("--seed", type=int, default=1234)

    p = sub.add_parser("bench", help="benchmark PyTorch vs ONNX text graphs and the vision tower")
    p.add_argument("--model-dir", type=Path, default=BUILD_DIR / "random-vit-b-32")
    p.add_argument("--source", type=Path, default=BUILD_DIR / "random-vit-b-32-source")
    p.add_argument("--report", type=Path, default=MODELS_DIR / "BENCHMARKS-models.md")
    p.add_argument("--runs", type=int, default=60)

    p = sub.add_parser("bench-text", help="the three fixed-77 baselines as JSON (for scripts/bench.sh)")
    p.add_argument("--model-dir", type=Path, default=BUILD_DIR / "random-vit-b-32")
    p.add_argument("--source", type=Path, default=BUILD_DIR / "random-vit-b-32-source")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--json", type=Path, required=True)

    p = sub.add_parser("bench-reference-indexing", help="images/s of a plain PIL + transformers + PyTorch pipeline")
    p.add_argument("--source", type=Path, default=BUILD_DIR / "random-vit-b-32-source")
    p.add_argument("--folder", type=Path, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, required=True)

    p = sub.add_parser("bench-summary", help="merge scripts/bench.sh's parts into summary.json and BENCHMARKS.md")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--report", type=Path, default=MODELS_DIR.parent / "BENCHMARKS.md", help="where the table goes")
    p.add_argument("--no-report", dest="report", action="store_const", const=None, help="only write summary.json")

    sub.add_parser("golden", help="write the fixtures and golden values the Rust tests check (tests/fixtures)")

    p = sub.add_parser("preprocess-reference", help="CLIPImageProcessor's pixels for image files, as raw f32")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("files", type=Path, nargs="+")

    p = sub.add_parser("ocr-corpus", help="make the OCR test corpus (images and labels.json) from a seed")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=None, help="default: the corpus's own (ocr_corpus.SEED)")

    p = sub.add_parser("ocr-reference", help="read every image with the rapidocr-onnxruntime wheel's pipeline")
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: its own choice)")
    p.add_argument("--repeat", type=int, default=1, help="read each image N times; ms is the median")

    p = sub.add_parser("ocr-score", help="recall, false text and time of an OCR run on the corpus")
    p.add_argument("--corpus", type=Path, required=True, help="the folder with labels.json")
    p.add_argument("--json", type=Path, required=True, help="the run's results (ocr-reference's shape)")
    p.add_argument("--out", type=Path, help="also write the score as JSON")

    p = sub.add_parser("ocr-manifest", help="write models/ocr/manifest.json from the installed wheel's files")
    p.add_argument("--out", type=Path, default=MODELS_DIR / "ocr" / "manifest.json")
    p.add_argument("--package", type=Path, help="read these files instead (the wheel's layout, or flat as in $OCR_DIR)")

    p = sub.add_parser("bench-worker", help=argparse.SUPPRESS)
    p.add_argument("spec")

    args = parser.parse_args(argv)
    if args.command == "export":
        from .export import DriftError, export_all

        name = Path(str(args.source).rstrip("/")).name
        out = args.out or BUILD_DIR / name
        try:
            export_all(args.source, out, model_id=args.model_id, fixed77=args.fixed77)
        except DriftError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"wrote {out}")
    elif args.command == "bench-text":
        from .bench import text_baselines

        text_baselines(args.model_dir, args.source, args.threads, args.runs, args.json)
    elif args.command == "bench-reference-indexing":
        from .bench import reference_indexing

        print(json.dumps(reference_indexing(args.source, args.folder, args.threads, args.json)))
    elif args.command == "bench-summary":
        from .summary import ImplausibleFigure, summary

        try:
            s = summary(args.dir, args.quick, args.report)
        except ImplausibleFigure as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(json.dumps({k: v for k, v in s.items() if k != "parts"}, indent=2))
        if args.report:
            print(f"wrote {args.dir / 'summary.json'} and the table at the top of {args.report}")
    elif args.command == "random-vitb32":
        from .towers import save_random_clip, vit_b32_config

        print(f"wrote {save_random_clip(vit_b32_config(), args.out, args.seed)}")
    elif args.command == "sweep":
        from . import corpus, quantize
        from . import tokenizer as clip_tokenizer

        tok = clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)
        fp32 = args.model_dir / "text_fp32.onnx"
        rows = quantize.sweep(fp32, args.model_dir, tok)
        table = quantize.sweep_table(rows, fp32, len(corpus.query_set()))
        print(table)
        if args.report:
            args.report.write_text(table + "\n")
    elif args.command == "train-tiny":
        from .tiny import train_and_export

        train_and_export(args.out, steps=args.steps, seed=args.seed)
    elif args.command == "bench":
        from .bench import run_all

        run_all(args.model_dir, args.source, args.report, args.runs)
    elif args.command == "golden":
        from .golden import write_all

        write_all()
    elif args.command == "preprocess-reference":
        from .golden import preprocess_reference

        preprocess_reference(args.files, args.size, args.out)
    elif args.command == "ocr-corpus":
        from .ocr_corpus import SEED, generate

        labels = generate(args.out, SEED if args.seed is None else args.seed)
        n, blank = len(labels["images"]), sum(not v["has_text"] for v in labels["images"].values())
        print(f"wrote {n} images ({blank} without text) and labels.json to {args.out}")
    elif args.command == "ocr-reference":
        from .ocr_reference import run

        run(args.images, args.json, args.threads, args.repeat)
        print(f"wrote {args.json}")
    elif args.command == "ocr-score":
        from .ocr_score import score, table

        s = score(json.loads((args.corpus / "labels.json").read_text()), json.loads(args.json.read_text()))
        print(table(s))
        print(json.dumps({k: v for k, v in s.items() if k not in ("recall_by", "missed", "false_text")}, indent=1))
        if args.out:
            args.out.write_text(json.dumps(s, indent=1, ensure_ascii=False) + "\n")
    elif args.command == "ocr-manifest":
        from .ocr_reference import write_manifest

        write_manifest(args.out, args.package)
        print(f"wrote {args.out}")
    elif args.command == "bench-worker":
        from .bench import worker

        worker(args.spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
