"""The benchmark summary refuses a figure that cannot be an encode (the cache-hit headline)."""

from __future__ import annotations

import pytest

from clipstream_models import summary


def test_a_cache_hit_is_refused_as_an_encode_naming_its_key():
    out = {"text_encode_ms": {"product_query": 0.00009, "product_first_query": 9.2}}
    with pytest.raises(summary.ImplausibleFigure, match=r"text_encode_ms\.product_query = 9e-05"):
        summary.check_plausible(out)


def test_real_encodes_pass():
    summary.check_plausible({"text_encode_ms": {"product_query": 6.03, "product_first_query": 8.41}})


def test_reading_words_lands_in_the_keys_and_rows_the_issue_names():
    """clipstream-bench ocr's JSON becomes ocr_ms_per_image, indexing_images_per_s.product_with_ocr
    and text_search_ms_100k (issue 26), and the table judges the two targets."""
    ocr = {
        "ocr_ms_per_image": {"no_text": 41.0, "text_heavy": 880.0, "no_text_3mp": 20.0, "runs": 5},
        "indexing": {
            "product_with_ocr": 1.2,
            "product_without_ocr": 2.0,
            "ocr_ratio": 0.6,
            "images": 32,
            "with_text": ["mix_007.jpg: photo_text-00.jpg"] * 4,
        },
        "text_search": {
            "n": 100000,
            "p50": 3.5,
            "p99": 12.0,
            "search_e2e_ms": {"p50": 14.0},
            "photos_with_words": 15000,
        },
    }
    indexing = {"product": 2.1}
    out = summary._ocr(ocr, indexing) | {"indexing_images_per_s": indexing}
    assert out["ocr_ms_per_image"]["text_heavy"] == 880.0
    assert summary.get(out, "indexing_images_per_s.product_with_ocr") == 1.2
    assert summary.get(out, "text_search_ms_100k.p50") == 3.5
    rows = summary.table(out).splitlines()
    assert "| Indexing with OCR / without, mixed set of 32 | 0.6 | × | ≥ 0.7 | **no** |" in rows
    assert "| Text search p50, 100k photos | 3.5 | ms | ≤ 10 | yes |" in rows
