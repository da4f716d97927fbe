"""Golden values the Rust tests check against, made by the Python reference.

`tests/fixtures/golden/tokens.json`: reference token ids for a slice of the tokenizer corpus.
`tests/fixtures/golden/text_embeddings.json`: the test model's text embeddings through ONNX Runtime.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import corpus
from . import tokenizer as clip_tokenizer

REPO = Path(__file__).resolve().parent.parent.parent
GOLDEN_DIR = REPO / "tests" / "fixtures" / "golden"
TOKEN_GOLDEN = GOLDEN_DIR / "tokens.json"
TEXT_GOLDEN = GOLDEN_DIR / "text_embeddings.json"
TINY_CLIP = REPO / "models" / "tiny-clip"


def token_golden() -> list[dict]:
    """Every 4th corpus string plus all long ones, with the reference's ids (context 77)."""
    texts = corpus.tokenizer_corpus()
    chosen = [t for i, t in enumerate(texts) if i % 4 == 0 or len(t) > 200]
    return [{"text": t, "ids": clip_tokenizer.reference_ids(t)} for t in chosen]


def text_golden() -> list[dict]:
    from .tiny import onnx_embedders

    embed_texts, _ = onnx_embedders(TINY_CLIP)
    queries = [
        "a red circle",
        "a small blue square on a white background",
        "dog on a beach at sunset",
        "a large green triangle at the top on a black background",
        "",
        "🐶 caf\u00e9 ＦＵＬＬ",
    ]
    vectors = embed_texts(queries)
    return [{"text": q, "embedding": [round(float(x), 7) for x in v]} for q, v in zip(queries, vectors, strict=True)]


def write() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    TOKEN_GOLDEN.write_text(json.dumps(token_golden(), ensure_ascii=False, indent=0) + "\n")
    TEXT_GOLDEN.write_text(json.dumps(text_golden(), ensure_ascii=False, indent=0) + "\n")
