"""Build CLIP's BPE tokenizer as a `tokenizer.json` that the Rust `tokenizers` crate loads, offline.

The vocabulary is the one OpenAI published with CLIP (`bpe_simple_vocab_16e6.txt.gz`), as shipped by the
`open-clip-torch` wheel. The reference we must reproduce is OpenAI's own tokenizer (open_clip's
`SimpleTokenizer`, the code CLIP was trained with). It cleans text with ftfy and HTML unescaping before
BPE; the parts of that cleaning that a `tokenizers` normalizer can express are written into the
normalizer below, the rest (mojibake repair, HTML entities) is documented in `models/README.md`.
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

START_OF_TEXT = "<|startoftext|>"
END_OF_TEXT = "<|endoftext|>"
VOCAB_SIZE = 49408
# OpenAI's split pattern without its special-token alternatives: a user typing "<|endoftext|>" gets the
# characters they typed, never a control token.
SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

# ftfy's fixes that are plain character substitutions (uncurl_quotes, fix_latin_ligatures).
_CHARACTER_FIXES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u0132": "IJ",
    "\u0133": "ij",
    "\u0149": "\u02bcn",
    "\u01c4": "D\u017d",
    "\u01c5": "D\u017e",
    "\u01c6": "d\u017e",
    "\u01c7": "LJ",
    "\u01c8": "Lj",
    "\u01c9": "lj",
    "\u01ca": "NJ",
    "\u01cb": "Nj",
    "\u01cc": "nj",
}


def character_fixes() -> dict[str, str]:
    """ftfy's substitutions, in its order: ligatures, then full/half-width forms (fix_character_width)."""
    fixes = dict(_CHARACTER_FIXES)
    for code in range(0xFF01, 0xFFEF):  # the Halfwidth and Fullwidth Forms block
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char)
        if folded != char:
            fixes[char] = folded
    return fixes


def bpe_vocab_path() -> Path:
    """The BPE merges file that `open-clip-torch` ships (the same file OpenAI published)."""
    import open_clip.tokenizer

    return Path(open_clip.tokenizer.__file__).with_name("bpe_simple_vocab_16e6.txt.gz")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def vocab_and_merges(bpe_path: Path | None = None) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Derive CLIP's vocabulary and merge list exactly as OpenAI's `SimpleTokenizer` does."""
    lines = gzip.open(bpe_path or bpe_vocab_path()).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    tokens += ["".join(m) for m in merges]
    tokens += [START_OF_TEXT, END_OF_TEXT]
    if len(tokens) != VOCAB_SIZE:
        raise ValueError(f"expected {VOCAB_SIZE} tokens, built {len(tokens)}")
    return {t: i for i, t in enumerate(tokens)}, merges


def build_tokenizer(bpe_path: Path | None = None) -> Tokenizer:
    """A `tokenizers` CLIP tokenizer: <|startoftext|> ids <|endoftext|>, no padding, no truncation.

    Truncation to the context length is applied by the caller from the model's manifest, so the
    context length is written once.
    """
    vocab, merges = vocab_and_merges(bpe_path)
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token=END_OF_TEXT,
            continuing_subword_prefix="",
            end_of_word_suffix="</w>",
            fuse_unk=False,
        )
    )
    fixes = [normalizers.Replace(src, dst) for src, dst in character_fixes().items()]
    tok.normalizer = normalizers.Sequence(
        [
            *fixes,
            normalizers.NFC(),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip(),
            normalizers.Lowercase(),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    sot, eot = vocab[START_OF_TEXT], vocab[END_OF_TEXT]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{START_OF_TEXT} $A {END_OF_TEXT}",
        special_tokens=[(START_OF_TEXT, sot), (END_OF_TEXT, eot)],
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def with_context_length(tok: Tokenizer, context_length: int) -> Tokenizer:
    """Truncate to `context_length` ids including both special tokens; EOT stays last."""
    tok.enable_truncation(max_length=context_length)
    return tok


@lru_cache(maxsize=1)
def reference_tokenizer():
    """OpenAI's original tokenizer (open_clip's `SimpleTokenizer`: ftfy + HTML unescape + BPE)."""
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer()


def reference_ids(text: str, context_length: int = 77) -> list[int]:
    """Ids from the reference tokenizer, unpadded, truncated as CLIP does (EOT kept last)."""
    ref = reference_tokenizer()
    ids = [ref.sot_token_id, *ref.encode(text), ref.eot_token_id]
    if len(ids) > context_length:
        ids = ids[:context_length]
        ids[-1] = ref.eot_token_id
    return ids


def save(tok: Tokenizer, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path), pretty=False)
