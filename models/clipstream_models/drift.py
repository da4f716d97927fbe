"""How far a graph's embeddings are from a reference's: the worst row cosine and the max absolute
difference, held to limits. The export holds ONNX to PyTorch with it, the quantizer an INT8 graph to FP32."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Drift limits: ONNX Runtime and PyTorch reorder float sums, so equality is to float32 rounding.
MIN_COSINE = 0.99999
MAX_ABS = 1e-3


@dataclass
class Check:
    name: str
    cosine: float
    max_abs: float
    min_cosine: float = MIN_COSINE
    max_abs_limit: float = MAX_ABS

    @property
    def ok(self) -> bool:
        return self.cosine >= self.min_cosine and self.max_abs <= self.max_abs_limit

    def line(self) -> str:
        mark = "ok" if self.ok else "DRIFT"
        return f"{self.name:<44} cosine {self.cosine:.8f}  max-abs {self.max_abs:.2e}  {mark}"


def compare(name: str, got: np.ndarray, want: np.ndarray) -> Check:
    """Worst row-wise cosine and the max absolute difference of two [batch, dim] arrays."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    return Check(name, float(cos.min()), float(np.abs(got - want).max()))
