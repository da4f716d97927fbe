"""Drawing lines of text for the OCR corpus, and knowing exactly where they went.

A line is rendered as coverage masks (Pillow, FreeType; Chinese runs in Droid Sans Fallback, the
rest in a Latin font), coloured into an RGBA patch, and painted into a photo through a
homography (a turn, a slant, a scale); the same homography maps the line's ink box to its label's
polygon, so the labels are where the pixels are. `ocr_corpus` composes these into images.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_ROOT = Path("/usr/share/fonts/truetype")
FONTS = {
    "DejaVuSans": ("dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "DejaVuSans-Bold": ("dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "DejaVuSerif": ("dejavu/DejaVuSerif.ttf", "fonts-dejavu-core"),
    "DejaVuSansMono": ("dejavu/DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "LiberationSans": ("liberation/LiberationSans-Regular.ttf", "fonts-liberation"),
    "LiberationSans-Bold": ("liberation/LiberationSans-Bold.ttf", "fonts-liberation"),
    "LiberationSans-Italic": ("liberation/LiberationSans-Italic.ttf", "fonts-liberation"),
    "LiberationSansNarrow-Bold": ("liberation/LiberationSansNarrow-Bold.ttf", "fonts-liberation"),
    "LiberationSerif-Bold": ("liberation/LiberationSerif-Bold.ttf", "fonts-liberation"),
    "LiberationMono": ("liberation/LiberationMono-Regular.ttf", "fonts-liberation"),
    "DroidSansFallback": ("droid/DroidSansFallbackFull.ttf", "fonts-droid-fallback"),
}
LATIN = [f for f in FONTS if f not in ("DroidSansFallback", "LiberationMono", "DejaVuSansMono")]
CJK = "DroidSansFallback"


@functools.cache
def font(name: str, px: int) -> ImageFont.FreeTypeFont:
    rel, package = FONTS[name]
    path = FONT_ROOT / rel
    if not path.exists():
        raise FileNotFoundError(f"{path}: the OCR corpus needs the Debian package {package} (scripts/setup.sh)")
    return ImageFont.truetype(str(path), px)


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def runs(text: str, latin: str) -> list[tuple[str, str]]:
    """The text cut into runs of one font each: Chinese in Droid Sans Fallback, the rest in `latin`
    (Droid Sans Fallback has no Latin letters)."""
    out: list[tuple[str, str]] = []
    for ch in text:
        f = CJK if _is_cjk(ch) else latin
        if out and out[-1][1] == f:
            out[-1] = (out[-1][0] + ch, f)
        else:
            out.append((ch, f))
    return out


@functools.cache
def masks(text: str, latin: str, px: int, stroke: int = 0) -> tuple[Image.Image, Image.Image, tuple]:
    """A line's coverage (fill, and fill with its outline), cropped to the outline, and the fill's
    ink box inside them."""
    parts = [(s, font(f, px)) for s, f in runs(text, latin)]
    ascent = max(f.getmetrics()[0] for _, f in parts)
    descent = max(f.getmetrics()[1] for _, f in parts)
    pad = stroke + px // 3 + 2
    width = math.ceil(sum(f.getlength(s) for s, f in parts)) + 2 * pad
    out = []
    for sw in (0, stroke):
        m = Image.new("L", (width, ascent + descent + 2 * pad))
        d, x = ImageDraw.Draw(m), pad
        for s, f in parts:
            d.text((x, pad + ascent), s, font=f, fill=255, anchor="ls", stroke_width=sw, stroke_fill=255)
            x += f.getlength(s)
        out.append(m)
    fill, outer = out
    x0, y0, x1, y1 = outer.getbbox()
    crop = (max(0, x0 - 2), max(0, y0 - 2), min(width, x1 + 2), min(outer.height, y1 + 2))
    fill, outer = fill.crop(crop), outer.crop(crop)
    return fill, outer, fill.getbbox()


def px_for_height(text: str, latin: str, height: float) -> int:
    """The font size whose ink for `text` is about `height` pixels high."""
    _, _, (_, y0, _, y1) = masks(text, latin, 100)
    return max(6, round(100 * height / (y1 - y0)))


# Colour


def luminance(rgb) -> float:
    c = [v / 255 for v in rgb[:3]]
    c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1: none, 21: black on white)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


DARK = [(18, 18, 18), (15, 35, 95), (120, 12, 12), (0, 70, 35), (70, 10, 90)]
LIGHT = [(250, 250, 250), (255, 228, 80), (185, 240, 255), (255, 205, 205)]


def region_luminance(img: Image.Image, box) -> np.ndarray:
    """The relative luminance of every pixel of `img` inside `box`."""
    x0, y0, x1, y1 = (int(max(0, v)) for v in box)
    c = np.asarray(img.crop((x0, y0, max(x0 + 1, x1), max(y0 + 1, y1))), np.float64).reshape(-1, 3) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def worst_contrast(colour, lum: np.ndarray) -> float:
    """The contrast of `colour` with the darkest and lightest tenth of a background (its worst)."""
    lc = luminance(colour)
    return min((max(lc, b) + 0.05) / (min(lc, b) + 0.05) for b in np.percentile(lum, [5, 95]))


def pick_colour(rng: random.Random, lum: np.ndarray) -> tuple | None:
    """A colour readable on all of the background (contrast >= 3 with its 5th and 95th percentiles),
    or None when no colour is: the text then needs an outline or a plate."""
    ok = [c for c in DARK + LIGHT if worst_contrast(c, lum) >= 3.0]
    return rng.choice(ok) if ok else None


def faint_colour(rng: random.Random, bg) -> tuple:
    """A colour whose contrast with `bg` is only 1.4–2.0 (faint print, a grey label on grey)."""
    target = rng.uniform(1.4, 2.0)
    lighter = luminance(bg) < 0.35 if rng.random() < 0.8 else luminance(bg) < 0.05
    best, best_gap = bg, 99.0
    for k in range(1, 256):
        c = tuple(min(255, v + k) for v in bg) if lighter else tuple(max(0, v - k) for v in bg)
        gap = abs(contrast(c, bg) - target)
        if gap < best_gap:
            best, best_gap = c, gap
    return tuple(int(v) for v in best)


# Geometry: every patch of text is put into the photo by a homography, and so is its label.


def homography(src, dst) -> np.ndarray:
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return np.append(np.linalg.solve(np.array(a, float), np.array(b, float)), 1.0).reshape(3, 3)


def apply(h: np.ndarray, points) -> list[tuple[float, float]]:
    p = np.c_[np.asarray(points, float), np.ones(len(points))] @ h.T
    return [(float(x), float(y)) for x, y in p[:, :2] / p[:, 2:]]


def rotation(w: float, h: float, angle: float, cx: float, cy: float, scale: float = 1.0) -> np.ndarray:
    """A w×h patch turned by `angle` degrees (counter-clockwise as seen) about its centre, centred at (cx, cy)."""
    t = math.radians(angle)
    c, s = math.cos(t) * scale, math.sin(t) * scale
    return np.array([[c, s, cx - c * w / 2 - s * h / 2], [-s, c, cy + s * w / 2 - c * h / 2], [0, 0, 1]])


def slanted(rng: random.Random, w: float, h: float, angle: float, cx: float, cy: float) -> np.ndarray:
    """Like `rotation`, seen at an angle: one side 15–35% shorter than the other (a sign from the side)."""
    k = rng.uniform(0.15, 0.35)
    rect = [(0, 0), (w, 0), (w, h), (0, h)]
    if rng.random() < 0.5:  # the right side is farther away
        quad = [(0, 0), (w * (1 - k / 2), h * k / 2), (w * (1 - k / 2), h * (1 - k / 2)), (0, h)]
    else:
        quad = [(w * k / 2, h * k / 2), (w, 0), (w, h), (w * k / 2, h * (1 - k / 2))]
    return rotation(w, h, angle, cx, cy) @ homography(rect, quad)


def place(img: Image.Image, patch: Image.Image, h: np.ndarray) -> None:
    """Paint an RGBA patch into `img` through the homography `h` (patch → image pixels)."""
    corners = apply(h, [(0, 0), (patch.width, 0), (patch.width, patch.height), (0, patch.height)])
    x0, y0 = max(0, math.floor(min(x for x, _ in corners))), max(0, math.floor(min(y for _, y in corners)))
    x1 = min(img.width, math.ceil(max(x for x, _ in corners)))
    y1 = min(img.height, math.ceil(max(y for _, y in corners)))
    back = np.linalg.inv(h) @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
    back /= back[2, 2]
    layer = patch.transform((x1 - x0, y1 - y0), Image.Transform.PERSPECTIVE, tuple(back.flatten()[:8]), Image.BICUBIC)
    img.paste(layer.convert("RGB"), (x0, y0), layer.getchannel("A"))


def bbox(points, margin: float = 0) -> tuple[float, float, float, float]:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def mean_colour(img: Image.Image, box) -> tuple:
    x0, y0, x1, y1 = (int(max(0, v)) for v in box)
    region = np.asarray(img.crop((x0, y0, max(x0 + 1, x1), max(y0 + 1, y1))), float)
    return tuple(int(v) for v in region.reshape(-1, 3).mean(axis=0))


# Scenes


@dataclass
class Line:
    """A line drawn in a patch: its ink box there, and what the label says about it."""

    text: str
    latin: str
    px: int
    box: tuple
    contrast: float


@dataclass
class Scene:
    image: Image.Image  # RGB, upright
    cls: str
    tags: list[str] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    orientation: int = 1
    fmt: str = "JPEG"
    quality: int = 92
    timing: str | None = None

    def label(self, line: Line, h: np.ndarray) -> None:
        x0, y0, x1, y1 = line.box
        poly = apply(h, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        height = (math.dist(poly[0], poly[3]) + math.dist(poly[1], poly[2])) / 2
        self.lines.append(
            {
                "text": line.text,
                "lang": "zh" if any(_is_cjk(c) for c in line.text) else "en",
                "fonts": list(dict.fromkeys(f for _, f in runs(line.text, line.latin))),
                "latin_font": line.latin,
                "font_px": line.px,
                "height_px": round(height, 1),
                "contrast": round(line.contrast, 2),
                "polygon": [[round(x, 1), round(y, 1)] for x, y in poly],
            }
        )

    def scaled(self, size: tuple[int, int]) -> Scene:
        """The same scene resized (labels too)."""
        sx, sy = size[0] / self.image.width, size[1] / self.image.height
        lines = [
            {
                **line,
                "height_px": round(line["height_px"] * sy, 1),
                "polygon": [[round(x * sx, 1), round(y * sy, 1)] for x, y in line["polygon"]],
            }
            for line in self.lines
        ]
        image = self.image.resize(size, Image.LANCZOS)
        return Scene(image, self.cls, list(self.tags), lines, self.orientation, self.fmt, self.quality, self.timing)


def text_patch(text: str, latin: str, px: int, colour, stroke: int = 0, outline=None, plate=None) -> tuple:
    """An RGBA patch holding one line, and the line's ink box in it."""
    fill, outer, ink = masks(text, latin, px, stroke)
    if plate is not None:
        m = max(4, px // 3)
        patch = Image.new("RGBA", (fill.width + 2 * m, fill.height + 2 * m), (*plate, 0))
        ImageDraw.Draw(patch).rounded_rectangle((0, 0, patch.width - 1, patch.height - 1), m, fill=(*plate, 255))
        patch.paste((*colour, 255), (m, m), fill)
        return patch, (ink[0] + m, ink[1] + m, ink[2] + m, ink[3] + m)
    patch = Image.new("RGBA", fill.size, (*colour, 0))
    if stroke:
        patch.paste((*outline, 255), (0, 0), outer)
    patch.paste((*colour, 255), (0, 0), fill)
    return patch, ink


def draw(canvas: Image.Image, xy, text: str, latin: str, px: int, colour, bg) -> Line:
    """One line on a flat canvas (a page, a sticker, a screen) at `xy` (top left of its box)."""
    fill, _, ink = masks(text, latin, px)
    canvas.paste(tuple(colour) + ((255,) if canvas.mode == "RGBA" else ()), (round(xy[0]), round(xy[1])), fill)
    x, y = round(xy[0]), round(xy[1])
    return Line(text, latin, px, (x + ink[0], y + ink[1], x + ink[2], y + ink[3]), contrast(colour, bg))


def line_height(text: str, latin: str, px: int) -> int:
    return masks(text, latin, px)[0].height
