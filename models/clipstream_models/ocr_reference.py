"""The OCR reference: the rapidocr-onnxruntime wheel's own pipeline, and the manifest of its models.

The Rust pipeline reads words with the three PaddleOCR models this wheel ships (PP-OCRv4 mobile
detection and recognition, the mobile v2.0 0/180° line classifier). `manifest()` writes down what
Rust must match: each file's size and SHA-256, the models' inputs and outputs, the constants of the
wheel's `config.yaml`, and the constants that live only in the wheel's code (read from version
1.4.4; `tests/test_ocr_reference.py` holds the committed `models/ocr/manifest.json` to the
installed wheel). `run()` is the reference itself: `RapidOCR()` with its defaults on every image,
after Pillow's `ImageOps.exif_transpose`, as the product decodes photos upright before reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import statistics
import time
from pathlib import Path

WHEEL = "rapidocr-onnxruntime"
WHEEL_VERSION = "1.4.4"
MODELS_DIR = Path(__file__).resolve().parent.parent
MANIFEST = MODELS_DIR / "ocr" / "manifest.json"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"}

# Role → file name inside the wheel's `rapidocr_onnxruntime/` folder.
FILES = {
    "det": "ch_PP-OCRv4_det_infer.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "rec": "ch_PP-OCRv4_rec_infer.onnx",
    "config": "config.yaml",
}


def wheel_dir() -> Path:
    """The installed wheel's package folder (its `config.yaml` and `models/`)."""
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).resolve().parent


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_entry(path: Path) -> dict:
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _io(path: Path) -> dict:
    """Input and output names and shapes as ONNX Runtime reports them (null: a dynamic size)."""
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def shape(v) -> list:
        return [d if isinstance(d, int) else None for d in v.shape]

    (i,), (o,) = s.get_inputs(), s.get_outputs()
    return {
        "input": {"name": i.name, "shape": shape(i), "type": i.type},
        "output": {"name": o.name, "shape": shape(o), "type": o.type},
        "metadata_keys": sorted(s.get_modelmeta().custom_metadata_map),
    }


def dictionary(rec_path: Path) -> list[str]:
    """The recognition model's characters, from its ONNX metadata key `character` (one per line)."""
    import onnxruntime as ort

    meta = ort.InferenceSession(str(rec_path), providers=["CPUExecutionProvider"]).get_modelmeta()
    return meta.custom_metadata_map["character"].splitlines()


def manifest(package: Path | None = None) -> dict:
    """What the Rust pipeline needs to read words as the wheel does, from the wheel's own files
    (`package`: the installed wheel's folder by default, or a folder of the same files)."""
    import yaml

    package = package or wheel_dir()
    # The wheel keeps the models in models/ beside config.yaml; setup's $OCR_DIR holds all four flat.
    models = package / "models" if (package / "models").is_dir() else package
    paths = {role: (package if role == "config" else models) / name for role, name in FILES.items()}
    config = yaml.safe_load(paths["config"].read_text())
    g, det, cls, rec = config["Global"], config["Det"], config["Cls"], config["Rec"]
    chars = dictionary(paths["rec"])
    io = {role: _io(paths[role]) for role in ("det", "cls", "rec")}
    # Every model is fed (pixel × scale − mean) / std per channel; the wheel turns Pillow's RGB into
    # OpenCV's BGR first, so channel 0 is blue.
    norm = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 1 / 255}
    return {
        "about": "PaddleOCR models as the rapidocr-onnxruntime wheel ships them, and its pipeline's constants "
        "(config.yaml, and the wheel's code where noted). Written by `python -m clipstream_models ocr-manifest`.",
        "source": {
            "package": WHEEL,
            "version": WHEEL_VERSION,
            "license": "Apache-2.0",
            "folder_in_wheel": "rapidocr_onnxruntime/models (config.yaml: rapidocr_onnxruntime)",
        },
        "files": {role: _file_entry(p) for role, p in paths.items()},
        "pixels": {"layout": "NCHW", "dtype": "float32", "channel_order": "BGR"},
        "global": {
            "text_score": g["text_score"],
            "max_side_len": g["max_side_len"],
            "min_side_len": g["min_side_len"],
            "min_height": g["min_height"],
            "width_height_ratio": g["width_height_ratio"],
            "notes": "max_side_len/min_side_len: the whole image is first scaled so its long side is at most "
            "2000 and its short side at least 30 (only when needed; each scaled side then rounded to a multiple "
            "of 32 with Python's round, halves to even: 62.5 → 62; OpenCV bilinear resize); images at most "
            "min_height high or wider than width_height_ratio × height get black bands top and bottom; lines "
            "whose recognition score is below text_score are dropped; boxes are sorted top to bottom, then "
            "left to right when their first points' y differ by < 10 px.",
            "crop": "each box is cut out with a perspective warp to int(longest of its top/bottom sides) × "
            "int(longest of its left/right sides) (bicubic, border replicated), then turned 90° "
            "counter-clockwise when its height/width >= 1.5; boxes are returned in the input image's "
            "coordinates (scaled back, clipped to it).",
        },
        "det": {
            **io["det"],
            "limit_side_len": det["limit_side_len"],
            "limit_type": det["limit_type"],
            "mean": det["mean"],
            "std": det["std"],
            "scale": 1 / 255,
            "resize_multiple": 32,
            "thresh": det["thresh"],
            "box_thresh": det["box_thresh"],
            "unclip_ratio": det["unclip_ratio"],
            "max_candidates": det["max_candidates"],
            "min_size": 3,
            "use_dilation": det["use_dilation"],
            "dilation_kernel": [2, 2],
            "score_mode": det["score_mode"],
            "notes": "limit_type min: scale so the short side is at least limit_side_len (never down), then "
            "round each side to a multiple of 32 (always; Python's round, halves to even: 2000 → 1984) and "
            "resize (OpenCV bilinear); output is the text probability map at the input's size. "
            "Post-processing (code): map > thresh, dilate with a 2×2 kernel of ones, external and inner "
            "contours (RETR_LIST, CHAIN_APPROX_SIMPLE), at most max_candidates; per contour the min-area "
            "rectangle, dropped if its short side < min_size; score = mean probability inside it (fast), "
            "dropped if < box_thresh; offset outward by area × unclip_ratio / perimeter (round joins), "
            "min-area rectangle again, dropped if its short side < min_size + 2; scaled to the image; "
            "points ordered clockwise from top-left, clipped, and dropped if a side is <= 3 px.",
        },
        "cls": {
            **io["cls"],
            **norm,
            "input_shape": cls["cls_image_shape"],
            "labels": cls["label_list"],
            "thresh": cls["cls_thresh"],
            "batch": cls["cls_batch_num"],
            "notes": "each line crop is resized to 48 high and ceil(48 × its aspect) wide (squeezed to 192 "
            "when wider), normalised, and zero-padded on the right to 192; batches of `batch` lines in "
            "increasing aspect ratio. A line whose argmax is '180' with score > thresh is turned 180° "
            "before recognition.",
        },
        "rec": {
            **io["rec"],
            **norm,
            "input_shape": rec["rec_img_shape"],
            "batch": rec["rec_batch_num"],
            "dictionary": {
                "source": "onnx_metadata",
                "key": "character",
                "split": "lines",
                "entries": len(chars),
                "classes": len(chars) + 2,
                "blank_index": 0,
                "space_index": len(chars) + 1,
                "sha256": hashlib.sha256("\n".join(chars).encode()).hexdigest(),
            },
            "notes": "batches of `batch` lines in increasing aspect ratio; a batch's width is "
            "int(48 × max(320/48, its widest line's aspect)); each line is resized to 48 high and "
            "ceil(48 × its aspect) wide (at most the batch width) and zero-padded on the right after "
            "normalising. Output: per time step "
            "(one per 8 input pixels of width) a softmax over classes: 0 blank, 1..entries the dictionary "
            "in order, entries+1 a space. CTC greedy decode: argmax per step, merge repeats, drop blanks; "
            "the line's score is the mean of the kept steps' maxima.",
        },
    }


def dumps(value) -> str:
    """Indented JSON with lists of numbers and short strings kept on one line (shapes, labels)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)


def write_manifest(out: Path = MANIFEST, package: Path | None = None) -> dict:
    m = manifest(package)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(m) + "\n")
    return m


def images_in(folder: Path) -> list[Path]:
    """The image files of a folder (not its subfolders), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_upright(path: Path):
    """The image as the product reads it: EXIF orientation applied, then RGB."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def engine(threads: int | None = None):
    """The wheel's pipeline with its defaults (`threads`: ONNX Runtime intra-op threads, None = its default)."""
    from rapidocr_onnxruntime import RapidOCR

    # The wheel copies the global thread count into all three models' sessions (1.4.4's
    # UpdateParameters), and applies it only when 1 <= threads <= the machine's cores.
    return RapidOCR(intra_op_num_threads=threads) if threads else RapidOCR()


def read(ocr, image) -> dict:
    """One upright PIL image through the pipeline: its lines and the time each stage took."""
    start = time.perf_counter()
    result, elapse = ocr(image)
    ms = (time.perf_counter() - start) * 1000
    lines = [
        {"box": [[round(float(x), 1), round(float(y), 1)] for x, y in box], "text": text, "score": round(float(s), 4)}
        for box, text, s in (result or [])
    ]
    stages = dict(zip(("det_ms", "cls_ms", "rec_ms"), [round(e * 1000, 1) for e in (elapse or [])], strict=False))
    return {"lines": lines, "ms": round(ms, 1), **stages}


def machine() -> dict:
    """The CPU's model name, its cores and the system, for the figures' context."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}


def run(images: Path, out: Path | None = None, threads: int | None = None, repeat: int = 1, log=print) -> dict:
    """Read every image of `images` with the reference; write `out` (JSON) when given. With
    `repeat` > 1 each image is read that many times and its `ms` is the median (the lines are the
    first read's; the pipeline is deterministic). A file that does not decode is recorded with its
    error and no lines, and the run goes on."""
    from importlib.metadata import version

    import onnxruntime

    ocr = engine(threads)
    paths = images_in(images)
    ocr(_blank())  # the first call allocates; keep it out of the first image's time
    results: dict[str, dict] = {}
    for path in paths:
        start = time.perf_counter()
        try:
            image = load_upright(path)
        except (OSError, ValueError) as e:
            results[path.name] = {"error": f"{type(e).__name__}: {e}", "lines": []}
            if log:
                log(f"{path.name}: not decoded ({e})")
            continue
        decode_ms = (time.perf_counter() - start) * 1000
        r = read(ocr, image)
        if repeat > 1:
            r["ms_runs"] = [r["ms"]] + [read(ocr, image)["ms"] for _ in range(repeat - 1)]
            r["ms"] = round(statistics.median(r["ms_runs"]), 1)
        results[path.name] = {"width": image.width, "height": image.height, "decode_ms": round(decode_ms, 1), **r}
        if log:
            log(f"{path.name}: {len(r['lines'])} lines, {r['ms']:.0f} ms")
    report = {
        "reference": f"{WHEEL}=={version(WHEEL)} RapidOCR() defaults, upright via ImageOps.exif_transpose",
        "onnxruntime": onnxruntime.__version__,
        "threads": threads or "onnxruntime default",
        "repeat": repeat,
        "machine": machine(),
        "images": results,
    }
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return report


def _blank():
    """A small photo-like image with no text (noise on grey), for the warm-up call."""
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(90, 160, (480, 640, 3), dtype=np.uint8)
    return Image.fromarray(noise)
