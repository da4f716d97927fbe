"""Shared fixtures: one small random CLIP exported once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import CLIPConfig

from clipstream_models import export, towers
from clipstream_models import tokenizer as clip_tokenizer

MODELS_DIR = Path(__file__).resolve().parent.parent
TINY_CLIP = MODELS_DIR / "tiny-clip"


def small_config() -> CLIPConfig:
    """ViT-B/32's shape in miniature: same classes, legacy eos_token_id=2 pooling, full vocabulary."""
    return CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "projection_dim": 16,
            "bos_token_id": 0,
            "eos_token_id": 2,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
            "projection_dim": 16,
        },
        projection_dim=16,
    )


@pytest.fixture(scope="session")
def tokenizer():
    return clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)


@pytest.fixture(scope="session")
def small_source(tmp_path_factory) -> Path:
    return towers.save_random_clip(small_config(), tmp_path_factory.mktemp("small-source"), seed=3)


@pytest.fixture(scope="session")
def small_export(small_source, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small-onnx")
    manifest = export.export_all(small_source, out, model_id="test/small", fixed77=True, log=lambda _: None)
    return out, manifest
