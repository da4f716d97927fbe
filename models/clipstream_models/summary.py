"""The benchmark's summary: scripts/bench.sh's parts merged into `summary.json`, checked, and the
table of the figures against their targets written at the top of BENCHMARKS.md.

The targets live here, once (`TARGETS`). A figure that cannot be what it claims to be stops the
summary before anything is written (`check_plausible`): a text encode faster than a 12-layer
transformer can run on a CPU was a cache hit, not an encode.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
BEGIN = "<!-- bench-summary: begin (written by `make bench` from target/bench/summary.json; do not edit) -->"
END = "<!-- bench-summary: end -->"

# No CPU runs a 12-layer CLIP text transformer (even at 8 tokens, even in INT8) in under half a
# millisecond: its weights alone take longer than that to stream from memory.
ENCODE_FLOOR_MS = 0.5
# Figures that are, or contain, one text encode of a query asked for the first time.
ENCODE_KEYS = (
    "text_encode_ms.pytorch_fixed77",
    "text_encode_ms.onnx_fp32_fixed77",
    "text_encode_ms.onnx_hybrid_fixed77",
    "text_encode_ms.product_query",
    "text_encode_ms.product_query_p99",
    "text_encode_ms.product_first_query",
    "search_e2e_ms.p50",
    "search_e2e_ms.p99",
    "search_during_indexing_ms.p50",
    "open_large.p50",
)

# The CPU flags every figure is reported with (machines of one kind differ: NOTES.md).
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx")


class ImplausibleFigure(Exception):
    """A figure that cannot be what its key says (e.g. an "encode" that was a cache hit)."""


@dataclass(frozen=True)
class Target:
    """One row of the table: a figure of summary.json and the bound it should meet."""

    name: str  # "{n}" stands for the count at `n`
    key: str  # dotted path in summary.json
    unit: str
    at_most: float | None = None
    at_least: float | None = None
    n: str | None = None  # dotted path of the photo or vector count it was measured at

    def met(self, value: float | None) -> bool | None:
        if value is None or (self.at_most is None and self.at_least is None):
            return None
        return (self.at_most is None or value <= self.at_most) and (self.at_least is None or value >= self.at_least)

    def show(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:.5f}".rstrip("0") if self.unit == "cosine" else _number(value)

    def bound(self) -> str:
        for sign, b in (("≤", self.at_most), ("≥", self.at_least)):
            if b is not None:
                return f"{sign} {int(b):,}" if b == int(b) else f"{sign} {b:g}"
        return "—"


# The targets the issues set, as BENCHMARKS.md has stated them (issues 5, 12-16): the one list.
# `n` is where summary.json holds the photo (or vector) count a figure was measured at, for the
# row's name. A row without a bound is reported beside the targeted ones.
TARGETS = (
    Target("Query encoding p50", "text_encode_ms.product_query", "ms", at_most=10),
    Target("Query encoding p99", "text_encode_ms.product_query_p99", "ms"),
    Target("Query encoding vs ONNX FP32 fixed-77", "text_encode_ms.speedup_vs_onnx_fp32_fixed77", "×", at_least=5),
    Target("Query encoding vs PyTorch fixed-77", "text_encode_ms.speedup_vs_pytorch_fixed77", "×", at_least=7),
    Target("Query embedding vs PyTorch FP32", "text_encode_ms.product_cosine_vs_pytorch", "cosine", at_least=0.9999),
    Target("Repeated query (the encoder's recent queries) p50", "text_encode_ms.product_query_cache_hit", "ms"),
    Target("Search end to end p50, {n} photos", "search_e2e_ms.p50", "ms", at_most=15, n="search_e2e_ms.n"),
    Target("Search end to end p99, {n} photos", "search_e2e_ms.p99", "ms", at_most=30, n="search_e2e_ms.n"),
    Target("Launch to first result, CLI, {n} photos", "startup_to_first_result_ms", "ms", at_most=1500, n="rss_n"),
    Target("Resident memory, text model + {n} photos open", "rss_mb_100k", "MB", at_most=250, n="rss_n"),
    Target("Browse: first page p50, {n} photos", "browse_first_page_ms.p50", "ms", at_most=50, n="rss_n"),
    Target("Duplicates over {n} photos", "duplicates_s", "s", at_most=60, n="rss_n"),
    Target("Open {n} photos (the core: catalog and vector index)", "open_100k_ms", "ms", at_most=100, n="rss_n"),
    Target("Open {n} photos (the core: catalog and vector index)", "open_1m_ms", "ms", at_most=300, n="open_large.n"),
    Target(
        "Open {n} photos with the text model and answer", "open_large.open_ms", "ms", at_most=2000, n="open_large.n"
    ),
    Target("Vector index search p50, {n} vectors", "search_1m_p50_ms", "ms", at_most=5, n="search_1m.n"),
    Target("Indexing 12-MP JPEGs: product / bare model", "indexing_images_per_s.ratio_12mp", "×", at_least=0.8),
    Target("Indexing 3-MP JPEGs: product / bare model", "indexing_images_per_s.ratio_3mp", "×", at_least=0.9),
    Target("Indexing: product / Python reference", "indexing_images_per_s.vs_reference", "×", at_least=2),
    Target("Peak memory indexing 12-MP JPEGs into {n} photos", "indexing_peak_rss_mb", "MB", at_most=500, n="rss_n"),
    Target("OCR of a 12-MP photo without text", "ocr_ms_per_image.no_text", "ms"),
    Target("OCR of a 12-MP photo dense with text", "ocr_ms_per_image.text_heavy", "ms"),
    Target(
        "Indexing with OCR / without, mixed set of {n}",
        "indexing_images_per_s.ocr_ratio",
        "×",
        at_least=0.7,
        n="indexing_images_per_s.ocr_mixed_images",
    ),
    Target("Text search p50, {n} photos", "text_search_ms_100k.p50", "ms", at_most=10, n="text_search_ms_100k.n"),
    Target("Text search p99, {n} photos", "text_search_ms_100k.p99", "ms", n="text_search_ms_100k.n"),
    Target("Model import of ViT-B/32: wall time", "model_import.seconds", "s", at_most=30),
    Target("Model import of ViT-B/32: peak memory", "model_import.max_rss_mb", "MB", at_most=1500),
    Target("App: keystroke to paint p50, {n} photos", "app_keystroke_to_paint_ms.p50", "ms", at_most=50, n="rss_n"),
    Target("App: keystroke to paint p95, {n} photos", "app_keystroke_to_paint_ms.p95", "ms", at_most=100, n="rss_n"),
    Target("App: launch to first result, {n} photos", "app_launch_to_first_result_ms", "ms", at_most=1000, n="rss_n"),
    Target(
        "App: launch to first result, {n} photos",
        "app_launch_to_first_result_large_ms",
        "ms",
        at_most=2000,
        n="open_large.n",
    ),
    Target("App: own resident memory, {n} photos, idle", "app_rss_mb_100k", "MB", at_most=250, n="rss_n"),
)


def get(data: dict, key: str):
    """The value at a dotted path of `data`, or None."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    if isinstance(data, float) and math.isnan(data):
        return None
    return data


def check_plausible(out: dict) -> None:
    """Refuse figures that cannot be an encode (see ENCODE_FLOOR_MS), naming each key."""
    wrong = [
        f"{key} = {value:.6g} ms"
        for key in ENCODE_KEYS
        if (value := get(out, key)) is not None and value < ENCODE_FLOOR_MS
    ]
    if wrong:
        raise ImplausibleFigure(
            f"{'; '.join(wrong)}: below {ENCODE_FLOOR_MS} ms, faster than a 12-layer text transformer runs on a "
            "CPU, so not an encode (a cache hit?). summary.json and BENCHMARKS.md not written."
        )


def _cpuinfo() -> tuple[str, set[str]]:
    """The CPU's model name and flags, from /proc/cpuinfo."""
    info = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    return model, set(flags)


def cpu() -> dict:
    """This machine's CPU model, logical cores and the SIMD flags its figures depend on."""
    model, flags = _cpuinfo()
    have = {f: f in flags for f in FLAGS if f != "amx"}
    have["amx"] = any(f.startswith("amx") for f in flags)
    return {"model": model, "cores": os.cpu_count(), "flags": have}


def machine() -> str:
    """One line on this machine: CPU, cores and SIMD flags, memory, system."""
    model, flags = _cpuinfo()
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_tile")
    simd = ", ".join(f for f in wanted if f in flags)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{model}; {os.cpu_count()} logical cores ({simd}); {mem:.0f} GiB RAM; {platform.platform()}"


def _ratio(a, b):
    return a / b if a is not None and b else None


def summary(bench_dir: Path, quick: bool, report: Path | None = REPORT) -> dict:
    """Merge the parts scripts/bench.sh wrote into `bench_dir/summary.json`, check them, and
    write the table at the top of `report` (BENCHMARKS.md)."""

    def part(name: str) -> dict:
        return json.loads((bench_dir / f"{name}.json").read_text())

    text, query, search, startup = part("text"), part("query"), part("search"), part("startup")
    vindex, indexing, reference = part("vindex"), part("indexing"), part("reference-indexing")
    indexing_3mp = part("indexing-3mp")
    large = vindex["rows"][0]
    product_query = query["median_ms"]
    out = {
        "machine": machine(),
        "cpu": cpu(),
        "quick": quick,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "text_encode_ms": {
            "pytorch_fixed77": text["pytorch_fixed77"]["median_ms"],
            "onnx_fp32_fixed77": text["onnx_fp32_fixed77"]["median_ms"],
            "onnx_hybrid_fixed77": text["onnx_hybrid_fixed77"]["median_ms"],
            # TextEncoder::encode_now: the model, never the encoder's recent queries.
            "product_query": product_query,
            "product_query_p99": query["p99_ms"],
            "product_first_query": query["first_query_ms"],
            # The same query asked again, answered from the recent queries (not an encode).
            "product_query_cache_hit": query["cache_hit_ms"]["p50"],
            "product_cosine_vs_pytorch": query["cosine_vs_pytorch"],
            "speedup_vs_onnx_fp32_fixed77": _ratio(text["onnx_fp32_fixed77"]["median_ms"], product_query),
            "speedup_vs_pytorch_fixed77": _ratio(text["pytorch_fixed77"]["median_ms"], product_query),
            "threads": query["threads"],
            "query": query["query"],
        },
        "search_e2e_ms": {"n": search["n"], "p50": search["p50"], "p99": search["p99"]},
        "browse_first_page_ms": search["list_first_page_ms"],
        "duplicates_s": search["duplicates_s"],
        "startup_to_first_result_ms": startup["median_ms"],
        # `clipstream model import` of the ViT-B/32 checkpoint (release build): targets 30 s, 1.5 GB.
        "model_import": part("import"),
        "indexing_images_per_s": {
            "product": indexing["product_images_per_s"],
            "bare_model": indexing["bare_model_images_per_s"],
            "reference_python": reference["images_per_s"],
            "ratio_12mp": _ratio(indexing["product_images_per_s"], indexing["bare_model_images_per_s"]),
            "ratio_3mp": _ratio(indexing_3mp["product_images_per_s"], indexing_3mp["bare_model_images_per_s"]),
            "vs_reference": _ratio(indexing["product_images_per_s"], reference["images_per_s"]),
            "images": indexing["images"],
            "threads": indexing["threads"],
            "product_3mp": indexing_3mp["product_images_per_s"],
            "bare_model_3mp": indexing_3mp["bare_model_images_per_s"],
            "per_image_ms_12mp": indexing["per_image_ms"],
            "per_image_ms_3mp": indexing_3mp["per_image_ms"],
        },
        "search_during_indexing_ms": {
            "p50": indexing["search_p50_ms_during_run"],
            "p99": indexing["search_p99_ms_during_run"],
        },
        "indexing_peak_rss_mb": indexing["indexing_peak_rss_mb"],
        "rss_mb_100k": search["rss_mb"],
        "open_100k_ms": search.get("open_core_ms"),
        "rss_n": search["n"],
        "search_1m_p50_ms": large["search_p50_ms"],
        "search_1m": {"n": vindex["n"]} | large,
        "parts": {
            name: part(name)
            for name in (
                "text",
                "query",
                "search",
                "startup",
                "vindex",
                "indexing",
                "indexing-3mp",
                "reference-indexing",
            )
        },
    }
    if (bench_dir / "search-large.json").is_file():
        # A library of 1M photos (20k in --quick) opened as the app and the CLI open it.
        opened = part("search-large")
        out["open_1m_ms"] = opened.get("open_core_ms")
        out["open_large"] = {k: opened[k] for k in ("n", "open_ms", "p50", "p99", "rss_mb_after_searches")}
        out["parts"]["search-large"] = opened
    if (bench_dir / "formats.json").is_file():
        formats = part("formats")
        out["indexing_images_per_s_by_format"] = {r["format"]: r["index_images_per_s"] for r in formats["formats"]}
        out["parts"]["formats"] = formats
    if (bench_dir / "ocr.json").is_file():
        out |= _ocr(part("ocr"), out["indexing_images_per_s"])
        out["parts"]["ocr"] = part("ocr")
    if (bench_dir / "app.json").is_file():
        out |= _app(part("app"))
        out["parts"]["app"] = part("app")
    check_plausible(out)
    (bench_dir / "summary.json").write_text(json.dumps(out, indent=2))
    if report is not None:
        write_table(report, out)
    return out


def _ocr(ocr: dict, indexing: dict) -> dict:
    """Reading words (clipstream-bench ocr): ms per photo, indexing with and without it (added to
    `indexing`, the dict of indexing_images_per_s), text search over the large library."""
    mixed, search = ocr["indexing"], ocr["text_search"]
    indexing |= {
        "product_with_ocr": mixed["product_with_ocr"],
        "product_without_ocr": mixed["product_without_ocr"],
        "ocr_ratio": mixed["ocr_ratio"],
        "ocr_mixed_images": mixed["images"],
        "ocr_mixed_with_text": len(mixed["with_text"]),
    }
    return {
        "ocr_ms_per_image": ocr["ocr_ms_per_image"],
        "text_search_ms_100k": {
            "n": search["n"],
            "p50": search["p50"],
            "p99": search["p99"],
            "search_e2e_p50": search["search_e2e_ms"]["p50"],
            "photos_with_words": search["photos_with_words"],
        },
    }


def _app(app: dict) -> dict:
    """The app's figures (scripts/bench_app.py), as summary keys."""
    software = app["software_painting"]
    # Issue 14's keys, from the app as it starts by default (composited).
    default = app["composited_software_gl"]
    missing = app.get("launch_without_vector_index", {})
    return {
        "app_browse_scroll_frame_ms": {
            "photos": app["photos"],
            "fling_p50": software["fling"]["frame_ms_p50"],
            "fling_p95": software["fling"]["frame_ms_p95"],
            "reading_p50": software["reading_back_up"]["frame_ms_p50"],
            "reading_p95": software["reading_back_up"]["frame_ms_p95"],
            "most_tiles_in_dom": software["fling"]["most_tiles_in_dom"],
            "reached_the_end": software["fling"]["reached_the_end"],
        },
        "app_keystroke_to_paint_ms": {
            "p50": default["typing"]["painted_ms_p50"],
            "p95": default["typing"]["painted_ms_p95"],
        },
        "app_launch_to_first_result_ms": app["launch_to_first_result"]["median_ms"],
        "app_launch_to_first_result_cold_ms": app.get("launch_cold", {}).get("median_ms"),
        # On the large library (1M photos; 20k with --quick).
        "app_launch_to_first_result_large_ms": app.get("launch_large", {}).get("median_ms"),
        # The vector index missing: the app answers by exact search while it builds the index.
        "app_launch_to_first_result_without_index_ms": missing.get("median_ms"),
        "app_index_built_in_background_s": (missing.get("index_built_and_saved_s") or [None])[0],
        "app_rss_mb_100k": default["rss_mb_idle_after_search"].get("clipstream-app"),
    }


def _number(v: float) -> str:
    """A figure with the digits that matter: 2,796; 266; 19.9; 6.03; 0.00008."""
    if v == int(v) and abs(v) >= 1:
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return format(Decimal(f"{v:.2g}"), "f")


def _size(n) -> str:
    """A photo or vector count as the report names it: 100k, 1M, 20k, 1,234."""
    if n is None:
        return "?"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def table(out: dict) -> str:
    """The report's head: when and where, then one row per target of `TARGETS`."""
    c = out.get("cpu", {})
    flags = ", ".join(f"{f} {'yes' if c.get('flags', {}).get(f) else 'no'}" for f in FLAGS)
    kind = "quick run (`make bench-quick`: small sizes)" if out.get("quick") else "full run (`make bench`)"
    lines = [
        f"**{str(out.get('date', '?'))[:10]}, {kind}.** {c.get('model', 'unknown CPU')}, "
        f"{c.get('cores', '?')} logical cores; {flags}.",
    ]
    # A summary made by hand from figures a document recorded (before a run wrote one) says so.
    if out.get("note"):
        lines += ["", out["note"]]
    lines += [
        "",
        "| figure | value | unit | target | met |",
        "| :-- | --: | :-- | :-- | :-- |",
    ]
    for t in TARGETS:
        value = get(out, t.key)
        name = t.name.replace("{n}", _size(get(out, t.n))) if t.n else t.name
        met = {True: "yes", False: "**no**", None: "—"}[t.met(value)]
        lines.append(f"| {name} | {t.show(value)} | {t.unit} | {t.bound()} | {met} |")
    return "\n".join(lines)


def write_table(report: Path, out: dict) -> None:
    """Replace what lies between the markers in `report` with the table of `out`."""
    text = report.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{report} has no {BEGIN!r} … {END!r} markers for the table")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    report.write_text(f"{head}{BEGIN}\n{table(out)}\n{END}{tail}")
