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
