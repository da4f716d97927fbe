"""The tokenizer.json we ship reproduces OpenAI's CLIP tokenizer."""

import json

from tokenizers import Tokenizer

from clipstream_models import corpus
from clipstream_models import tokenizer as clip_tokenizer
from clipstream_models.golden import TOKEN_GOLDEN, token_golden

from .conftest import TINY_CLIP


def test_vocabulary_and_special_tokens(tokenizer):
    assert tokenizer.get_vocab_size() == 49408
    assert tokenizer.token_to_id("<|startoftext|>") == 49406
    assert tokenizer.token_to_id("<|endoftext|>") == 49407


def test_shipped_tokenizer_json_is_the_one_we_build():
    shipped = json.loads((TINY_CLIP / "tokenizer.json").read_text())
    assert shipped == json.loads(clip_tokenizer.build_tokenizer().to_str())


def test_ids_identical_to_reference_on_corpus():
    shipped = Tokenizer.from_file(str(TINY_CLIP / "tokenizer.json"))
    shipped.enable_truncation(max_length=77)
    texts = corpus.tokenizer_corpus()
    assert len(texts) >= 2000
    truncated = 0
    mismatches = []
    for text in texts:
        ids = shipped.encode(text).ids
        if ids != clip_tokenizer.reference_ids(text):
            mismatches.append(text)
        truncated += len(ids) == 77 and len(clip_tokenizer.reference_tokenizer().encode(text)) > 75
        assert ids[0] == 49406 and ids[-1] == 49407
    assert mismatches == []
    assert truncated >= 100  # the corpus really exercises truncation with EOT kept last


def test_typed_special_token_is_plain_text(tokenizer):
    ids = tokenizer.encode("a <|endoftext|> b").ids
    assert ids.count(49407) == 1 and ids[-1] == 49407


def test_committed_rust_golden_matches_reference():
    """The ids the Rust tests check against are the reference's, not a stale copy."""
    assert json.loads(TOKEN_GOLDEN.read_text()) == token_golden()
