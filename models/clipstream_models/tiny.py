"""Train a small CLIP on generated shapes, so tests can use a model that really retrieves.

Same transformers classes as ViT-B/32 and the full 49408-token CLIP vocabulary, shrunk everywhere else.
Training is deterministic for a seed and a step count. The loss is CLIP's symmetric contrastive loss
with every caption/image pair that matches counted as a positive (a batch often holds several images
that "a red circle" describes).
"""

from __future__ import annotations

import io
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

from . import shapes
from . import tokenizer as clip_tokenizer

MODEL_ID = "clipstream/tiny-clip-shapes"
IMAGE_SIZE = 64
FIELDS = ["shape", "colour", "size", "position", "background"]
VALUES = {
    "shape": shapes.SHAPES,
    "colour": list(shapes.COLOURS),
    "size": list(shapes.SIZES),
    "position": list(shapes.POSITIONS),
    "background": list(shapes.BACKGROUNDS),
}


def tiny_config() -> CLIPConfig:
    return CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 64,
            "intermediate_size": 256,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "max_position_embeddings": 77,
            "hidden_act": "quick_gelu",
            "projection_dim": 64,
            "bos_token_id": 49406,
            "eos_token_id": 49407,
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "image_size": IMAGE_SIZE,
            "patch_size": 16,
            "hidden_act": "quick_gelu",
            "projection_dim": 64,
        },
        projection_dim=64,
    )


def processor() -> CLIPImageProcessor:
    return CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def _codes(items, none=-1) -> np.ndarray:
    """Attribute index per field ([n, 5]); `none` where a caption does not mention the field."""
    return np.array(
        [[none if getattr(x, f) is None else VALUES[f].index(getattr(x, f)) for f in FIELDS] for x in items]
    )


def _jpeg_roundtrip(img: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=rng.randrange(70, 96))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def make_pool(n: int, rng: random.Random, proc: CLIPImageProcessor) -> tuple[torch.Tensor, list[shapes.Scene]]:
    """`n` preprocessed training images of random seen scenes (a third of them JPEG-compressed)."""
    scenes = [s for s in shapes.all_scenes() if not s.held_out]
    chosen = [rng.choice(scenes) for _ in range(n)]
    pixels = []
    for start in range(0, n, 1000):
        imgs = []
        for scene in chosen[start : start + 1000]:
            img = shapes.render(scene, rng)
            imgs.append(_jpeg_roundtrip(img, rng) if rng.random() < 0.33 else img)
        pixels.append(proc(images=imgs, return_tensors="pt")["pixel_values"].to(torch.float16))
    return torch.cat(pixels), chosen


def contrastive_loss(text: torch.Tensor, image: torch.Tensor, scale: torch.Tensor, match: torch.Tensor) -> torch.Tensor:
    logits = scale * F.normalize(text, dim=-1) @ F.normalize(image, dim=-1).T
    t2i = -(match / match.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1).mean()
    i2t = -(match.T / match.T.sum(1, keepdim=True) * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return (t2i + i2t) / 2


def train(steps: int, seed: int, batch: int = 256, pool_size: int = 24000, log=print) -> CLIPModel:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)
    proc = processor()
    started = time.time()
    pool, scenes = make_pool(pool_size, rng, proc)
    scene_codes = _codes(scenes)
    log(f"rendered {pool_size} training images in {time.time() - started:.0f}s")
    model = CLIPModel(tiny_config())
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / steps)))
    )
    started = time.time()
    for step in range(steps):
        idx = torch.from_numpy(np.array(rng.sample(range(pool_size), batch)))
        caps = [shapes.random_caption(scenes[i], rng) for i in idx.tolist()]
        encoded = tok.encode_batch([c.text for c in caps])
        width = max(len(e.ids) for e in encoded)
        ids = torch.zeros((batch, width), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = torch.tensor(e.ids)
        cap_codes, img_codes = _codes(caps), scene_codes[idx.numpy()]
        match = torch.from_numpy(
            np.all((cap_codes[:, None, :] == -1) | (cap_codes[:, None, :] == img_codes[None, :, :]), axis=-1)
        ).float()
        text = model.get_text_features(input_ids=ids).pooler_output
        image = model.get_image_features(pixel_values=pool[idx].float()).pooler_output
        loss = contrastive_loss(text, image, model.logit_scale.exp().clamp(max=100), match)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step:5d}/{steps}  loss {loss.item():.4f}  {time.time() - started:.0f}s")
    model.eval()
    return model


Embedder = Callable[[list], np.ndarray]


def recall(
    embed_texts: Embedder, embed_images: Embedder, gallery: list[tuple[Path, shapes.Scene]], ks=(1, 5)
) -> dict[str, dict[str, float]]:
    """Text→image recall@k per query set: a hit when one of the top k images has every attribute the
    query mentions."""
    images = embed_images([p for p, _ in gallery])
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    codes = _codes([s for _, s in gallery])
    out = {}
    for name, queries in shapes.eval_queries().items():
        texts = embed_texts([q.text for q in queries])
        texts = texts / np.linalg.norm(texts, axis=1, keepdims=True)
        order = np.argsort(-(texts @ images.T), axis=1, kind="stable")
        qcodes = _codes(queries)
        hits = np.all((qcodes[:, None, :] == -1) | (qcodes[:, None, :] == codes[order]), axis=-1)
        out[name] = {f"r@{k}": round(float(hits[:, :k].any(axis=1).mean()), 4) for k in ks} | {"queries": len(queries)}
    return out


def open_upright(path: Path) -> Image.Image:
    """An image file as RGB with its EXIF orientation applied (what the app does before encoding)."""
    with Image.open(path) as img:
        return ImageOps.exif_transpose(img).convert("RGB")


def torch_embedders(model: CLIPModel, proc: CLIPImageProcessor, tok) -> tuple[Embedder, Embedder]:
    from .runtime import pad_batch

    def texts(items: list[str]) -> np.ndarray:
        with torch.no_grad():
            ids = torch.from_numpy(pad_batch([tok.encode(t).ids for t in items]))
            return model.get_text_features(input_ids=ids).pooler_output.numpy()

    def images(paths: list[Path]) -> np.ndarray:
        out = []
        for start in range(0, len(paths), 256):
            imgs = [open_upright(p) for p in paths[start : start + 256]]
            with torch.no_grad():
                pix = proc(images=imgs, return_tensors="pt")["pixel_values"]
                out.append(model.get_image_features(pixel_values=pix).pooler_output.numpy())
        return np.concatenate(out)

    return texts, images


def onnx_embedders(model_dir: Path) -> tuple[Embedder, Embedder]:
    """The same two functions over the exported ONNX files, driven only by `manifest.json`."""
    from tokenizers import Tokenizer

    from .runtime import pad_batch, session

    manifest = json.loads((model_dir / "manifest.json").read_text())
    tok = Tokenizer.from_file(str(model_dir / manifest["tokenizer"]["file"]))
    tok.enable_truncation(max_length=manifest["context_length"])
    text_sess = session(model_dir / manifest["text"]["file"])
    vision_sess = session(model_dir / manifest["vision"]["file"])
    pre = manifest["vision"]["preprocess"]
    proc = CLIPImageProcessor(
        size={"shortest_edge": pre["resize_shortest_edge"]},
        crop_size={"height": pre["center_crop"][0], "width": pre["center_crop"][1]},
        image_mean=pre["mean"],
        image_std=pre["std"],
        rescale_factor=pre["rescale_factor"],
    )

    def texts(items: list[str]) -> np.ndarray:
        ids = pad_batch([tok.encode(t).ids for t in items])
        return text_sess.run(None, {manifest["text"]["input"]: ids})[0]

    def images(paths: list[Path]) -> np.ndarray:
        out = []
        for start in range(0, len(paths), 256):
            imgs = [open_upright(p) for p in paths[start : start + 256]]
            pix = proc(images=imgs, return_tensors="np")["pixel_values"].astype(np.float32)
            out.append(vision_sess.run(None, {manifest["vision"]["input"]: pix})[0])
        return np.concatenate(out)

    return texts, images


def train_and_export(out: Path, steps: int, seed: int, log=print) -> dict:
    from .export import export_all

    started = time.time()
    model = train(steps, seed, log=log)
    minutes = (time.time() - started) / 60
    tok = clip_tokenizer.with_context_length(clip_tokenizer.build_tokenizer(), 77)
    with tempfile.TemporaryDirectory() as tmp:
        gallery = shapes.write_gallery(Path(tmp) / "gallery")
        reference = recall(*torch_embedders(model, processor(), tok), gallery)
        src = Path(tmp) / "source"
        model.save_pretrained(src)
        processor().save_pretrained(src)
        extra = {
            "training": {
                "script": "models/clipstream_models/tiny.py",
                "seed": seed,
                "steps": steps,
                "minutes_on_this_machine": round(minutes, 1),
                "gallery_seed": 99,
            },
            "recall_pytorch": reference,
        }
        manifest = export_all(src, out, model_id=MODEL_ID, keep_fp32_text=False, extra_manifest=extra, log=log)
    log(json.dumps(reference, indent=1))
    return manifest
