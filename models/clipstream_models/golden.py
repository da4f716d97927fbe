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


PHOTOS_DIR = REPO / "tests" / "fixtures" / "photos"
SHAPES_DIR = REPO / "tests" / "fixtures" / "shapes"
PHOTO_GOLDEN = GOLDEN_DIR / "photos.json"
SKIMAGE_PHOTOS = [
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "retina.jpg",
    "camera.png",
    "logo.png",
    "color.png",
    "no_time_for_that_tiny.gif",
]
PROBE_SIZE, PROBE_STEP = 224, 14


def write_photos() -> list[Path]:
    """Copy scikit-image's sample photos, and make an EXIF-rotated JPEG with its upright twin."""
    import shutil

    import skimage.data
    from PIL import Image

    PHOTOS_DIR.mkdir(parents=True, exist_ok=True)
    src = Path(skimage.data.__file__).parent
    paths = []
    for name in SKIMAGE_PHOTOS:
        shutil.copyfile(src / name, PHOTOS_DIR / name)
        paths.append(PHOTOS_DIR / name)
    Image.open(src / "color.png").convert("RGB").save(PHOTOS_DIR / "color.tif", compression="tiff_lzw")
    paths.append(PHOTOS_DIR / "color.tif")
    upright = Image.open(src / "chelsea.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0132] = "2021:06:15 14:30:00"  # DateTime (IFD0)
    upright.save(PHOTOS_DIR / "chelsea_upright.jpg", quality=95, exif=exif.tobytes())
    rotated_exif = Image.Exif()
    rotated_exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    # Stored pixels are the upright image turned 90° counter-clockwise.
    upright.transpose(Image.Transpose.ROTATE_90).save(
        PHOTOS_DIR / "chelsea_rotated.jpg", quality=95, exif=rotated_exif.tobytes()
    )
    paths += [PHOTOS_DIR / "chelsea_upright.jpg", PHOTOS_DIR / "chelsea_rotated.jpg"]
    return paths


def photo_golden(paths: list[Path]) -> list[dict]:
    """Per photo: the test model's embedding via the reference preprocessing, and a probe of the
    reference preprocessing at ViT-B/32's 224 px (channel means and a 16×16 grid of values)."""
    import numpy as np
    from transformers import CLIPImageProcessor

    from .tiny import onnx_embedders, open_upright

    _, embed_images = onnx_embedders(TINY_CLIP)
    vectors = embed_images(paths)
    proc = CLIPImageProcessor()  # ViT-B/32's: shortest edge 224, centre crop 224, OpenAI mean/std
    out = []
    for path, vector in zip(paths, vectors, strict=True):
        img = open_upright(path)
        pix = proc(images=[img], return_tensors="np")["pixel_values"][0]
        grid = pix[:, ::PROBE_STEP, ::PROBE_STEP]
        out.append(
            {
                "file": path.name,
                "size": list(img.size),
                "embedding": [round(float(x), 7) for x in vector],
                "probe_224": {
                    "channel_mean": [round(float(m), 6) for m in pix.mean(axis=(1, 2))],
                    "step": PROBE_STEP,
                    "grid": np.round(grid, 5).ravel().tolist(),
                },
            }
        )
    return out


def write_shapes() -> None:
    """The shapes gallery (one image per scene) and its queries with the Python reference's recall
    through ONNX Runtime, for the Rust retrieval tests."""
    from . import shapes
    from .tiny import onnx_embedders, recall

    if SHAPES_DIR.exists():
        for p in SHAPES_DIR.iterdir():
            p.unlink()
    gallery = shapes.write_gallery(SHAPES_DIR, seed=99)
    reference = recall(*onnx_embedders(TINY_CLIP), gallery)
    queries = {
        name: [{"text": q.text, "attributes": {k: v for k, v in vars(q).items() if k != "text"}} for q in qs]
        for name, qs in shapes.eval_queries().items()
    }
    (SHAPES_DIR / "queries.json").write_text(json.dumps({"recall_onnx_python": reference, "sets": queries}, indent=0))


def write_all() -> None:
    write()
    PHOTO_GOLDEN.write_text(json.dumps(photo_golden(write_photos()), indent=0) + "\n")
    write_shapes()


def preprocess_reference(files: list[Path], size: int, out_dir: Path) -> None:
    """CLIP's reference preprocessing (transformers' CLIPImageProcessor on PIL's full decode,
    EXIF orientation applied) at `size` px, one `<name>.f32` per file (little-endian, 3×size×size):
    what the Rust tests compare the product's fast decode path with."""
    import numpy as np
    from transformers import CLIPImageProcessor

    from .tiny import open_upright

    proc = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        pix = proc(images=[open_upright(path)], return_tensors="np")["pixel_values"][0]
        (out_dir / f"{path.name}.f32").write_bytes(np.ascontiguousarray(pix, dtype="<f4").tobytes())
