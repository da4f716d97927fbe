"""`clipstream model import` (Rust, no Python) against the PyTorch reference and ONNX Runtime's own
quantizer, on checkpoints of three shapes; and its refusals of bad input.

Needs the CLI: `CLIPSTREAM_CLI` (a built `clipstream` binary) and `ORT_DYLIB_PATH`. scripts/test.sh
runs this file after `cargo test` has built both (marker `rust_import`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer
from transformers import CLIPConfig

from clipstream_models import corpus, drift, export, fakehub, quantize, runtime, tiny, towers
from clipstream_models import tokenizer as clip_tokenizer

from .conftest import small_config

pytestmark = pytest.mark.rust_import

# The bar: the Rust graphs equal the reference to float32 rounding.
MIN_COSINE, MAX_ABS = 0.99999, 1e-4
TABLE = "text_model.embeddings.token_embedding.weight"


def other_shape_config() -> CLIPConfig:
    """Unlike ViT-B/32 and the small test CLIP everywhere it can be: patch 16 on 48 px, widths 48
    and 96 with 3 and 4 heads, 2 and 3 layers, exact GELU, pooling at the first end-of-text id."""
    return CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 48,
            "intermediate_size": 80,
            "num_hidden_layers": 2,
            "num_attention_heads": 3,
            "max_position_embeddings": 77,
            "hidden_act": "gelu",
            "projection_dim": 24,
            "bos_token_id": 49406,
            "eos_token_id": 49407,
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": 96,
            "intermediate_size": 160,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "image_size": 48,
            "patch_size": 16,
            "hidden_act": "gelu",
            "projection_dim": 24,
        },
        projection_dim=24,
    )


def cli() -> Path:
    path = os.environ.get("CLIPSTREAM_CLI")
    if not path or not Path(path).is_file():
        pytest.fail("set CLIPSTREAM_CLI to a built clipstream binary (scripts/test.sh does)")
    return Path(path)


def run_import(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(cli()), "model", "import", str(source), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )


def import_ok(source: Path, out: Path) -> Path:
    done = run_import(source, out, "--model-id", "test/imported")
    assert done.returncode == 0, done.stderr
    return out


TINY_CLIP = Path(__file__).resolve().parent.parent / "tiny-clip"

CHECKPOINTS = {
    # The random-weight ViT-B/32 (the exact hub configuration, legacy pooling).
    "vit-b-32": lambda out: towers.save_random_clip(towers.vit_b32_config(), out, seed=5),
    # The app's test model (models/tiny-clip), its checkpoint recovered from the committed export.
    "tiny-clip": lambda out: towers.save_clip_from_export(TINY_CLIP, tiny.tiny_config(), tiny.processor(), out),
    "other-shape": lambda out: towers.save_random_clip(other_shape_config(), out, seed=5),
}


@pytest.fixture(scope="module", params=list(CHECKPOINTS))
def imported(request, tmp_path_factory):
    """(name, checkpoint folder, the Rust model folder, the PyTorch CLIP, its image processor)."""
    name = request.param
    source = CHECKPOINTS[name](tmp_path_factory.mktemp(f"{name}-source"))
    out = import_ok(source, tmp_path_factory.mktemp(f"{name}-import") / "model")
    clip, processor = towers.load_clip(source)
    yield name, source, out, clip, processor
    shutil.rmtree(source)
    shutil.rmtree(out)


@pytest.fixture(scope="module")
def tok():
    return clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)


def assert_close(checks):
    lines = [c.line() for c in checks]
    for c in checks:
        assert c.cosine >= MIN_COSINE and c.max_abs <= MAX_ABS, lines


def test_text_graph_equals_pytorch(imported, tok):
    _, _, out, clip, _ = imported
    checks = export.verify_text(clip, out / "text_fp32.onnx", tok, 77, fixed=False)
    assert len(checks) == 3  # batch 1, batch 16, unpadded vs padded to 77
    assert_close(checks)


def test_vision_graph_equals_pytorch(imported):
    _, _, out, clip, _ = imported
    checks = export.verify_vision(clip, out / "vision.onnx")
    assert len(checks) == 2
    assert_close(checks)


def test_hybrid_graph_is_onnxruntimes_quantization_of_the_token_embedding_only(imported, tok, tmp_path):
    """ONNX Runtime's quantizer, run on the Rust FP32 graph as the Python export runs it, writes the
    same 8-bit table; the Rust hybrid differs from its FP32 graph in that one Gather only."""
    _, _, out, clip, _ = imported
    reference = quantize.quantize_text(out / "text_fp32.onnx", tmp_path / "ort_hybrid.onnx", fp32_layers=None)
    ours = quantize.initializer_arrays(onnx.load(str(out / "text_hybrid_int8.onnx")))
    theirs = quantize.initializer_arrays(onnx.load(str(reference)))
    for suffix in ("_quantized", "_scale", "_zero_point"):
        a, b = ours[TABLE + suffix], theirs[TABLE + suffix]
        assert a.dtype == b.dtype and np.array_equal(a, b), suffix

    rows = [tok.encode(q).ids for q in corpus.query_set(16)]
    ids = runtime.pad_batch(rows)
    got = runtime.session(out / "text_hybrid_int8.onnx").run(None, {"input_ids": ids})[0]
    want = runtime.session(reference).run(None, {"input_ids": ids})[0]
    assert_close([drift.compare("hybrid vs ONNX Runtime's quantization", got, want)])
    # And still CLIP: the seed's quality rule against PyTorch.
    vs_torch = drift.compare("hybrid vs PyTorch", got, export.torch_text(clip, ids))
    assert vs_torch.cosine >= quantize.SWEEP_MIN_WORST, vs_torch.line()

    fp32 = onnx.load(str(out / "text_fp32.onnx")).graph
    hybrid = onnx.load(str(out / "text_hybrid_int8.onnx")).graph
    assert Counter(n.op_type for n in hybrid.node) - Counter(n.op_type for n in fp32.node) == Counter(
        {"DequantizeLinear": 1}
    )
    changed = {n.name for n in fp32.node} ^ {n.name for n in hybrid.node}
    assert len(changed) == 1 and "DequantizeLinear" in changed.pop()
    fp32_inputs = {n.name: list(n.input) for n in fp32.node}
    differing = [n.name for n in hybrid.node if n.name in fp32_inputs and list(n.input) != fp32_inputs[n.name]]
    assert differing == ["/text_model/embeddings/token_embedding/Gather"]
    # Every other weight is the FP32 graph's, unquantized.
    fp32_weights = quantize.initializer_arrays(onnx.load(str(out / "text_fp32.onnx")))
    for name, arr in fp32_weights.items():
        if name != TABLE:
            assert np.array_equal(ours[name], arr), name


def test_the_test_models_checkpoint_imports_as_the_committed_test_model(tok, tmp_path):
    """Importing models/tiny-clip's own checkpoint gives back models/tiny-clip: the same 8-bit
    table and the same embeddings from both graphs."""
    source = CHECKPOINTS["tiny-clip"](tmp_path / "source")
    out = import_ok(source, tmp_path / "model")
    ours = quantize.initializer_arrays(onnx.load(str(out / "text_hybrid_int8.onnx")))
    committed = quantize.initializer_arrays(onnx.load(str(TINY_CLIP / "text_hybrid_int8.onnx")))
    for suffix in ("_quantized", "_scale", "_zero_point"):
        assert np.array_equal(ours[TABLE + suffix], committed[TABLE + suffix]), suffix
    ids = runtime.pad_batch([tok.encode(q).ids for q in corpus.query_set(32)])
    text = [runtime.session(d / "text_hybrid_int8.onnx").run(None, {"input_ids": ids})[0] for d in (out, TINY_CLIP)]
    pixels = np.random.default_rng(1).standard_normal((4, 3, 64, 64)).astype(np.float32)
    vision = [runtime.session(d / "vision.onnx").run(None, {"pixel_values": pixels})[0] for d in (out, TINY_CLIP)]
    assert_close([drift.compare("text vs committed", *text), drift.compare("vision vs committed", *vision)])


def test_graphs_are_valid_opset14_with_the_exports_interface(imported):
    _, _, out, clip, _ = imported
    for name, (inp, outp) in {
        "text_fp32.onnx": (["batch", "sequence"], ["batch", clip.config.projection_dim]),
        "text_hybrid_int8.onnx": (["batch", "sequence"], ["batch", clip.config.projection_dim]),
        "vision.onnx": (
            ["batch", 3, clip.config.vision_config.image_size, clip.config.vision_config.image_size],
            ["batch", clip.config.projection_dim],
        ),
    }.items():
        model = onnx.load(str(out / name))
        onnx.checker.check_model(model)
        assert {o.domain or "ai.onnx": o.version for o in model.opset_import} == {"ai.onnx": 14}

        def dims(value):
            return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

        assert (dims(model.graph.input[0]), dims(model.graph.output[0])) == (inp, outp), name


def test_tokenizer_is_the_python_pipelines(imported):
    """The same tokenizer.json as tokenizer.py builds, and the same ids on the tokenizer corpus."""
    _, _, out, _, _ = imported
    ours = json.loads((out / "tokenizer.json").read_text())
    theirs = json.loads(clip_tokenizer.build_tokenizer().to_str())
    assert ours == theirs
    a = clip_tokenizer.with_context_length(Tokenizer.from_file(str(out / "tokenizer.json")), 77)
    b = clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)
    texts = [
        *corpus.tokenizer_corpus(),
        "it’s a ﬁne day",
        "ＦＵＬＬ\u3000ｗｉｄｔｈ",
        "<|endoftext|> typed",
        "日本の桜 🌸",
    ]
    assert [a.encode(t).ids for t in texts] == [b.encode(t).ids for t in texts]


def test_manifest_has_the_exports_contract(imported):
    _, _, out, clip, processor = imported
    manifest = json.loads((out / "manifest.json").read_text())
    text_cfg = clip.config.text_config
    assert manifest["format"] == 1 and manifest["model_id"] == "test/imported"
    assert manifest["embedding_dim"] == clip.config.projection_dim
    assert manifest["context_length"] == text_cfg.max_position_embeddings
    assert manifest["text"] == {
        "file": "text_hybrid_int8.onnx",
        "input": "input_ids",
        "output": "text_embeds",
        "input_dtype": "int64",
        "dynamic_sequence": True,
        "normalized": False,
    }
    assert manifest["tokenizer"] == {
        "file": "tokenizer.json",
        "start_of_text_id": 49406,
        "end_of_text_id": 49407,
        "pad_id": 0,
        "vocab_size": text_cfg.vocab_size,
    }
    vision = dict(manifest["vision"])
    assert vision.pop("preprocess") == export.preprocessing(processor)
    assert vision == {
        "file": "vision.onnx",
        "input": "pixel_values",
        "output": "image_embeds",
        "image_size": clip.config.vision_config.image_size,
        "normalized": False,
    }
    files = sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    assert sorted(manifest["files"]) == files
    for name, spec in manifest["files"].items():
        assert spec == {"sha256": export.sha256(out / name), "bytes": (out / name).stat().st_size}


# --- bad input: a clear error, exit 1, and nothing written ----------------------------------------


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    return towers.save_random_clip(small_config(), tmp_path_factory.mktemp("bad-input-base"), seed=3)


def broken(base: Path, tmp: Path, change) -> Path:
    source = tmp / "source"
    shutil.copytree(base, source)
    change(source)
    return source


def write_config(source: Path, edit) -> None:
    config = json.loads((source / "config.json").read_text())
    edit(config)
    (source / "config.json").write_text(json.dumps(config))


def truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def rewrite_header(path: Path, edit) -> None:
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n :])


def shift_one_offset(header: dict) -> None:
    name = next(k for k in header if k != "__metadata__")
    start, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [start + 4, end + 4]


BAD_INPUTS = {
    "no config.json": (lambda s: (s / "config.json").unlink(), "config.json is missing"),
    "no weights": (lambda s: (s / "model.safetensors").unlink(), "model.safetensors is missing"),
    "only pytorch_model.bin": (
        lambda s: (s / "model.safetensors").rename(s / "pytorch_model.bin"),
        "only pytorch_model.bin",
    ),
    "no tokenizer": (lambda s: (s / "vocab.json").unlink(), "no tokenizer"),
    "not a CLIP": (lambda s: write_config(s, lambda c: c.update(model_type="bert")), 'model_type "bert"'),
    "ResNet vision tower": (
        lambda s: write_config(s, lambda c: c["vision_config"].update(layers=[3, 4, 6, 3])),
        "ResNet",
    ),
    "truncated weights": (lambda s: truncate(s / "model.safetensors", 100_000), "truncated"),
    "inconsistent header": (lambda s: rewrite_header(s / "model.safetensors", shift_one_offset), "header is invalid"),
    "shape disagrees with config": (
        lambda s: write_config(s, lambda c: c["text_config"].update(intermediate_size=96)),
        "config.json implies",
    ),
    "tokenizer disagrees with config": (
        lambda s: write_config(s, lambda c: c["text_config"].update(vocab_size=1000)),
        "vocab_size 1000",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_clearly_and_writes_nothing(case, small_checkpoint, tmp_path):
    change, says = BAD_INPUTS[case]
    source = broken(small_checkpoint, tmp_path, change)
    dest = tmp_path / "models"
    dest.mkdir()
    done = run_import(source, dest / "model")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert says in done.stderr, done.stderr
    assert list(dest.iterdir()) == [], "nothing half-written"


def test_a_failed_import_keeps_the_previous_model(small_checkpoint, tmp_path):
    out = import_ok(small_checkpoint, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    source = broken(small_checkpoint, tmp_path, lambda s: truncate(s / "model.safetensors", 100_000))
    assert run_import(source, out).returncode == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "source"]


# --- `model get` against a hub on 127.0.0.1 ----------------------------------------------------


def test_model_get_downloads_checks_and_imports_from_the_hub(small_checkpoint, tmp_path):
    def get(repo: str, out: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(cli()), "model", "get", repo, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ, HF_ENDPOINT=hub.url, XDG_CACHE_HOME=str(tmp_path / "cache")),
        )

    with fakehub.serving(small_checkpoint, "test/small") as hub:
        got = get("test/small", tmp_path / "got")
        missing = get("nobody/nothing", tmp_path / "none")
    assert got.returncode == 0, got.stderr
    assert "/cdn/model.safetensors" in hub.seen, "the redirect was followed"
    manifest = json.loads((tmp_path / "got" / "manifest.json").read_text())
    assert manifest["model_id"] == "test/small"
    assert manifest["source"]["commit"] == fakehub.COMMIT and manifest["source"]["repository"] == "test/small"
    # The same graphs as importing the folder directly, byte for byte; the download is cleaned up.
    direct = import_ok(small_checkpoint, tmp_path / "direct")
    for name in ("text_fp32.onnx", "text_hybrid_int8.onnx", "vision.onnx", "tokenizer.json"):
        assert (tmp_path / "got" / name).read_bytes() == (direct / name).read_bytes(), name
    assert not any((tmp_path / "cache").rglob("*.safetensors*"))
    assert missing.returncode == 1 and "nobody/nothing" in missing.stderr, missing.stderr
    assert not (tmp_path / "none").exists()


def test_what_a_killed_import_left_is_removed_by_the_next(small_checkpoint, tmp_path):
    """A kill mid-import leaves `.model.importing-PID`; the next import removes it (its process is
    gone) but not one whose process still runs."""
    abandoned = tmp_path / ".model.importing-4194305"  # above Linux's largest pid (PID_MAX_LIMIT)
    abandoned.mkdir()
    (abandoned / "text_fp32.onnx").write_bytes(b"half")
    running = tmp_path / f".model.importing-{os.getpid()}"
    running.mkdir()
    import_ok(small_checkpoint, tmp_path / "model")
    assert not abandoned.exists()
    assert running.exists()
