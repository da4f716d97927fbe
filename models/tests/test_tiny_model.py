"""The committed test model: files match the manifest, and it still retrieves through ONNX Runtime."""

import json

import pytest

from clipstream_models import export, shapes, tiny

from .conftest import TINY_CLIP


@pytest.fixture(scope="module")
def manifest():
    return json.loads((TINY_CLIP / "manifest.json").read_text())


def test_manifest_hashes_match_files(manifest):
    listed = set(manifest["files"])
    assert {manifest["text"]["file"], manifest["vision"]["file"], manifest["tokenizer"]["file"]} <= listed
    for name, meta in manifest["files"].items():
        path = TINY_CLIP / name
        assert path.stat().st_size == meta["bytes"], name
        assert export.sha256(path) == meta["sha256"], name


def test_manifest_describes_the_model(manifest):
    assert manifest["model_id"] == tiny.MODEL_ID
    assert manifest["context_length"] == 77
    assert manifest["vision"]["image_size"] == tiny.IMAGE_SIZE
    assert manifest["text"]["dynamic_sequence"] is True
    assert manifest["tools"]["opset"] == 14


def test_model_is_small(manifest):
    assert sum(m["bytes"] for m in manifest["files"].values()) < 12 * 1024 * 1024


def test_recall_through_onnx_runtime_matches_recorded(manifest, tmp_path):
    gallery = shapes.write_gallery(tmp_path, seed=manifest["training"]["gallery_seed"])
    measured = tiny.recall(*tiny.onnx_embedders(TINY_CLIP), gallery)
    recorded = manifest["recall_pytorch"]
    assert measured.keys() == recorded.keys()
    for name, figures in recorded.items():
        for k in ("r@1", "r@5"):
            # The same recall, not merely as good: the exported graphs are the trained model.
            assert abs(measured[name][k] - figures[k]) <= 0.01, (name, k, measured[name][k], figures[k])
    assert recorded["size_colour_shape_background/seen"]["r@1"] >= 0.9
