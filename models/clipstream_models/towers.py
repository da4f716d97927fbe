"""The two CLIP towers as standalone torch modules, and how to load a CLIP from the hub or a folder."""

from __future__ import annotations

from pathlib import Path

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
