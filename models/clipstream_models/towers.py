"""The two CLIP towers as standalone torch modules, and how to load a CLIP from the hub or a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

DEFAULT_SOURCE = "openai/clip-vit-base-patch32"


class TextTower(torch.nn.Module):
    """input_ids [batch, seq] → text_embeds [batch, dim] (projected, not normalised)."""

    def __init__(self, clip: CLIPModel):
        super().__init__()
        self.text_model = clip.text_model
        self.text_projection = clip.text_projection

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        pooled = self.text_model(input_ids=input_ids).pooler_output
        return self.text_projection(pooled)


class VisionTower(torch.nn.Module):
    """pixel_values [batch, 3, size, size] → image_embeds [batch, dim] (projected, not normalised)."""

    def __init__(self, clip: CLIPModel):
        super().__init__()
        self.vision_model = clip.vision_model
        self.visual_projection = clip.visual_projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pooled = self.vision_model(pixel_values=pixel_values).pooler_output
        return self.visual_projection(pooled)


def load_clip(source: str | Path) -> tuple[CLIPModel, CLIPImageProcessor]:
    """A CLIP and its image processor from a hub id or a `save_pretrained` folder, in eval mode.

    Eager attention: it exports to plain MatMul/Softmax ops that every ONNX Runtime build runs.
    """
    model = CLIPModel.from_pretrained(str(source), attn_implementation="eager")
    model.eval()
    processor = CLIPImageProcessor.from_pretrained(str(source))
    return model, processor


def vit_b32_config() -> CLIPConfig:
    """The exact configuration of `openai/clip-vit-base-patch32` on the hub (including its legacy
    `eos_token_id=2`, which makes the text tower pool at argmax(input_ids), the end-of-text token)."""
    return CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 12,
            "num_attention_heads": 8,
            "max_position_embeddings": 77,
            "hidden_act": "quick_gelu",
            "projection_dim": 512,
            "bos_token_id": 0,
            "eos_token_id": 2,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 32,
            "hidden_act": "quick_gelu",
            "projection_dim": 512,
        },
        projection_dim=512,
        logit_scale_init_value=2.6592,
    )


def save_tokenizer_files(out_dir: Path) -> None:
    """CLIP's BPE vocabulary as the hub stores it beside a checkpoint: `vocab.json` + `merges.txt`."""
    import json

    from .tokenizer import vocab_and_merges

    vocab, merges = vocab_and_merges()
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def save_random_clip(config: CLIPConfig, out_dir: Path, seed: int = 0) -> Path:
    """Write a randomly initialised CLIP (and a default CLIP image processor at its image size) the way
    the hub stores one, so the export runs the same code path as for real weights."""
    torch.manual_seed(seed)
    model = CLIPModel(config)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    size = config.vision_config.image_size
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(out_dir)
    save_tokenizer_files(out_dir)
    return out_dir


def save_clip_from_export(model_dir: Path, config: CLIPConfig, processor: CLIPImageProcessor, out_dir: Path) -> Path:
    """The checkpoint an exported model folder was made from, written the way the hub stores one.

    Our exports keep transformers' names for every weight except the MatMul operands, which torch's
    exporter stores transposed under generated names and which are found by their node's name
    (`/text_model/encoder/layers.0/self_attn/q_proj/MatMul` → `...q_proj.weight`); the 8-bit token
    embedding is dequantized exactly (`(q - zero_point) * scale`). `logit_scale`, which no tower
    uses, keeps its initial value.
    """
    import onnx
    from onnx import numpy_helper

    state: dict[str, torch.Tensor] = {}
    for name in ("text_hybrid_int8.onnx", "text_fp32.onnx", "vision.onnx"):
        path = model_dir / name
        if not path.exists():
            continue
        graph = onnx.load(str(path)).graph
        weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        for key, value in weights.items():
            if key.startswith(("text_model.", "vision_model.")) and key.endswith(
                (".weight", ".bias", "class_embedding")
            ):
                state[key] = torch.from_numpy(value.copy())
        for node in graph.node:
            if node.op_type == "MatMul" and node.input[1] in weights and node.name.endswith("/MatMul"):
                key = node.name.strip("/").removesuffix("/MatMul").replace("/", ".") + ".weight"
                state[key] = torch.from_numpy(weights[node.input[1]].T.copy())
        table = "text_model.embeddings.token_embedding.weight"
        if table + "_quantized" in weights:
            q = weights[table + "_quantized"].astype(np.float32)
            zero, scale = weights[table + "_zero_point"].astype(np.float32), weights[table + "_scale"]
            state[table] = torch.from_numpy((q - zero) * scale)
    model = CLIPModel(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {
        "logit_scale",
        "text_model.embeddings.position_ids",
        "vision_model.embeddings.position_ids",
    }:
        raise ValueError(f"{model_dir}: weights missing {missing}, unexpected {unexpected}")
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    save_tokenizer_files(out_dir)
    return out_dir
