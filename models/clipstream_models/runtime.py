"""The exported graphs as ONNX Runtime runs them: their input and output names, a CPU session, and
token-id rows padded into the batch the text graph takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

TEXT_INPUT, TEXT_OUTPUT = "input_ids", "text_embeds"
VISION_INPUT, VISION_OUTPUT = "pixel_values", "image_embeds"


def session(path: Path, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def pad_batch(rows: list[list[int]], length: int | None = None) -> np.ndarray:
    """Right-pad id rows with 0 (what OpenAI's tokenizer pads with) to `length` or the longest row."""
    width = length or max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
