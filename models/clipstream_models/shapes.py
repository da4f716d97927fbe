"""Procedurally generated captioned images: coloured shapes at positions and sizes on backgrounds.

The world the test model learns. Every image has five attributes; a caption mentions some of them, and
an image matches a caption when it has every attribute the caption mentions.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star", "cross"]
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 220),
    "yellow": (240, 210, 30),
    "purple": (140, 50, 180),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
BACKGROUNDS = {
    "white": (250, 250, 250),
    "black": (10, 10, 10),
    "gray": (128, 128, 128),
    "blue": (50, 90, 200),
    "yellow": (235, 215, 60),
}
SIZES = {"small": 0.22, "large": 0.5}  # shape extent as a fraction of the image's short side
POSITIONS = {
    "on the left": (0.27, 0.5),
    "on the right": (0.73, 0.5),
    "at the top": (0.5, 0.27),
    "at the bottom": (0.5, 0.73),
    "in the center": (0.5, 0.5),
}
# (shape, colour) pairs never shown in training: how the model does on them is reported separately.
HELD_OUT = {("star", "green"), ("triangle", "purple"), ("circle", "orange"), ("square", "white"), ("cross", "yellow")}


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    size: str
    position: str
    background: str

    @property
    def held_out(self) -> bool:
        return (self.shape, self.colour) in HELD_OUT


@dataclass(frozen=True)
class Caption:
    """A caption and the attributes it mentions (None: not mentioned)."""

    text: str
    shape: str
    colour: str | None = None
    size: str | None = None
    position: str | None = None
    background: str | None = None

    def matches(self, scene: Scene) -> bool:
        return all(
            want is None or want == getattr(scene, field)
            for field, want in (
                ("shape", self.shape),
                ("colour", self.colour),
                ("size", self.size),
                ("position", self.position),
                ("background", self.background),
            )
        )


def caption(shape: str, colour=None, size=None, position=None, background=None) -> Caption:
    words = ["a"] + [w for w in (size, colour) if w] + [shape]
    if position:
        words.append(position)
    if background:
        words += ["on a", background, "background"]
    return Caption(" ".join(words), shape, colour, size, position, background)


def all_scenes() -> list[Scene]:
    return [
        Scene(s, c, z, p, b)
        for s, c, z, p, b in itertools.product(SHAPES, COLOURS, SIZES, POSITIONS, BACKGROUNDS)
        if c != b
    ]


def random_caption(scene: Scene, rng: random.Random) -> Caption:
    """A caption of `scene` that mentions a random subset of its attributes (always the shape)."""
    return caption(
        scene.shape,
        scene.colour if rng.random() < 0.85 else None,
        scene.size if rng.random() < 0.5 else None,
        scene.position if rng.random() < 0.4 else None,
        scene.background if rng.random() < 0.6 else None,
    )


def _shape_points(shape: str, cx: float, cy: float, r: float, rng: random.Random) -> list[tuple[float, float]]:
    if shape == "triangle":
        angles = [-90, 30, 150]
        return [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))) for a in angles]
    if shape == "star":
        pts = []
        for i in range(10):
            rad = r if i % 2 == 0 else r * 0.45
            a = math.radians(-90 + 36 * i)
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    if shape == "cross":
        t = r * 0.35
        return [
            (cx - t, cy - r),
            (cx + t, cy - r),
            (cx + t, cy - t),
            (cx + r, cy - t),
            (cx + r, cy + t),
            (cx + t, cy + t),
            (cx + t, cy + r),
            (cx - t, cy + r),
            (cx - t, cy + t),
            (cx - r, cy + t),
            (cx - r, cy - t),
            (cx - t, cy - t),
        ]
    raise ValueError(shape)


def render(scene: Scene, rng: random.Random, width: int | None = None, height: int | None = None) -> Image.Image:
    """Draw `scene` with small random jitter, on a canvas whose central square holds the shape (the
    part CLIP's centre crop keeps)."""
    width = width or rng.randrange(72, 160)
    height = height or rng.randrange(72, 160)
    side = min(width, height)
    ox, oy = (width - side) / 2, (height - side) / 2
    jitter = lambda v: tuple(max(0, min(255, c + rng.randrange(-12, 13))) for c in v)  # noqa: E731
    img = Image.new("RGB", (width, height), jitter(BACKGROUNDS[scene.background]))
    draw = ImageDraw.Draw(img)
    fx, fy = POSITIONS[scene.position]
    cx = ox + side * (fx + rng.uniform(-0.04, 0.04))
    cy = oy + side * (fy + rng.uniform(-0.04, 0.04))
    r = side * SIZES[scene.size] / 2 * rng.uniform(0.9, 1.1)
    fill = jitter(COLOURS[scene.colour])
    if scene.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif scene.shape == "square":
        s = r * 0.9
        draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
    else:
        draw.polygon(_shape_points(scene.shape, cx, cy, r, rng), fill=fill)
    return img


def write_gallery(out: Path, seed: int = 99, scenes: list[Scene] | None = None) -> list[tuple[Path, Scene]]:
    """Render one image per scene into `out` (PNG) with `labels.json`; deterministic for a seed."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for i, scene in enumerate(scenes or all_scenes()):
        path = out / f"{i:05d}.png"
        render(scene, rng).save(path)
        items.append((path, scene))
    labels = {p.name: asdict(s) for p, s in items}
    (out / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")
    return items


def read_gallery(folder: Path) -> list[tuple[Path, Scene]]:
    labels = json.loads((folder / "labels.json").read_text())
    return [(folder / name, Scene(**attrs)) for name, attrs in sorted(labels.items())]


def eval_queries() -> dict[str, list[Caption]]:
    """The recall query sets. "seen"/"held_out" split on whether the (shape, colour) pair was trained."""
    sets: dict[str, list[Caption]] = {}
    for s, c in itertools.product(SHAPES, COLOURS):
        split = "held_out" if (s, c) in HELD_OUT else "seen"
        sets.setdefault(f"colour_shape/{split}", []).append(caption(s, c))
        for z, b in itertools.product(SIZES, BACKGROUNDS):
            if c != b:
                sets.setdefault(f"size_colour_shape_background/{split}", []).append(caption(s, c, z, None, b))
                for p in POSITIONS:
                    sets.setdefault(f"full/{split}", []).append(caption(s, c, z, p, b))
    return sets
