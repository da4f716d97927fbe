"""The OCR test corpus, made here from a seed: `python -m clipstream_models ocr-corpus --out DIR`.

Real photos from `tests/fixtures/photos` with words drawn onto them in several fonts, sizes (ink
20–80 px high, and some smaller), colours (most with enough contrast, some faint), tilts,
perspective, blur, upside down, and turned 90/180/270° through the EXIF orientation tag (the
pixels stored turned, the tag saying how to show them upright); English and Chinese; screenshots
with dense small text; a router sticker, receipts, street signs; and photos without text (more
than a third). Two 12-MP and 3-MP pairs time the reader on a text-heavy photo and a photo without
text. `labels.json` says, per image, its lines (text, font, ink height, polygon in the upright
image), the words that count (`ocr_score`), and whether it has text at all.

Only this generator is committed; `make test` (tests/test_ocr_reference.py) and `make bench` make
the images again. The same seed, fonts and Pillow give the same bytes. Fonts come from Debian's
fonts-dejavu-core, fonts-liberation and fonts-droid-fallback (scripts/setup.sh installs them).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from .ocr_draw import (
    DARK,
    LATIN,
    LIGHT,
    Line,
    Scene,
    apply,
    bbox,
    contrast,
    draw,
    faint_colour,
    line_height,
    luminance,
    masks,
    mean_colour,
    overlaps,
    pick_colour,
    place,
    px_for_height,
    region_luminance,
    rotation,
    slanted,
    text_patch,
    worst_contrast,
)
from .ocr_score import MIN_CHARS, MIN_HEIGHT_PX, counted_words

REPO = Path(__file__).resolve().parent.parent.parent
PHOTOS_DIR = REPO / "tests" / "fixtures" / "photos"
SEED = 26
# The fixture photos, all without text (the reference reads nothing in any of them).
BASES = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "color.png",
    "logo.png",
    "retina.jpg",
    "rocket.jpg",
]

PLACES = (
    "Bakery Market Station Library Museum Garden Harbor Bridge Square Hotel Theater Gallery Plaza Street Avenue "
    "Terminal Platform Pharmacy Bookstore Restaurant Stadium Hospital School Castle Church Tower Palace Cinema "
    "Beach Island Forest Valley Mountain River Airport Marina Lighthouse Campus Aquarium Playground Village"
).split()
ADJECTIVES = (
    "Fresh Daily Central Grand Golden Royal Green Happy Quiet Sunny Little Great Public National Historic Modern "
    "North South East West Upper Lower Old New Silver Blue"
).split()
THINGS = (
    "Coffee Bread Pizza Pasta Dinner Lunch Breakfast Dessert Chocolate Vanilla Lemon Cherry Strawberry Juice "
    "Flowers Books Music Dance Photo Camera Tickets Bicycle Parking Delivery Repair Rental Service Fitness Yoga"
).split()
SIGNS = "EXIT PUSH PULL STOP SALE OPEN CLOSED Welcome Caution Danger Warning Entrance Private Emergency".split()
SHORT = "Bus Zoo No Go St Rd Ave Inn Bar Spa".split()
CHINESE = (
    "欢迎光临 营业时间 禁止停车 出口方向 北京东路 上海博物馆 无线网络密码 请勿吸烟 小心地滑 人民广场 火车站入口 "
    "今日特价 新鲜水果 中山公园 地铁站出口 停车收费 安全出口 请排队等候 会议室预订 南京西路 东方明珠 谢谢惠顾 "
    "长江大桥 西湖景区 游客中心 注意安全 前方施工 减速慢行"
).split()
CHINESE_SHORT = "北京 上海 出口 咖啡 面包 电梯 楼梯 售票处 卫生间".split()
MESSAGES = [
    "Can you send me the WiFi password",
    "The meeting moved to Thursday afternoon",
    "Dinner at the Italian restaurant tonight",
    "Flight departs from Terminal 2 at 18:45",
    "Remember the concert tickets please",
    "Running late, traffic on the bridge",
    "Photos from the beach are uploaded",
    "Happy birthday! See you Saturday",
]
PASSWORD_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"

# Orientation tag → how to store an upright image so that the tag shows it upright again (the
# inverse of the turn ImageOps.exif_transpose makes: 6 is shown turned 90° clockwise, so it is
# stored turned 90° counter-clockwise).
STORE = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def photo(name: str, long_side: int) -> Image.Image:
    """A fixture photo, upright, in RGB (transparency on white), its long side `long_side` pixels."""
    with Image.open(PHOTOS_DIR / name) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        im = im.convert("RGB")
    k = long_side / max(im.size)
    return im.resize((round(im.width * k), round(im.height * k)), Image.LANCZOS)


def phrase(rng: random.Random, lang: str = "en") -> str:
    if lang == "zh":
        r = rng.random()
        if r < 0.5:
            return rng.choice(CHINESE)
        if r < 0.75:
            return f"{rng.choice(CHINESE)} {rng.choice(CHINESE_SHORT)}"
        return f"{rng.choice(CHINESE)} {rng.choice(PLACES + THINGS)}"
    r = rng.random()
    if r < 0.3:
        text = f"{rng.choice(ADJECTIVES)} {rng.choice(PLACES)}"
    elif r < 0.5:
        text = f"{rng.choice(THINGS)} {rng.choice(PLACES)}"
    elif r < 0.65:
        text = rng.choice(SIGNS)
    elif r < 0.8:
        text = f"{rng.choice(PLACES)} {rng.randint(1, 250)}"
    elif r < 0.9:
        text = f"{rng.choice(SHORT)} {rng.choice(THINGS)} {rng.choice(PLACES)}"
    else:
        text = f"{rng.choice(ADJECTIVES)} {rng.choice(THINGS)}"
    return text.upper() if rng.random() < 0.25 else text


def free_text(
    rng: random.Random,
    scene: Scene,
    count: int,
    heights: tuple[float, float],
    angle: float = 0.0,
    lang: str = "en",
    faint: bool = False,
    perspective: bool = False,
    upside_down: bool = False,
) -> None:
    """Up to `count` lines at free places in the photo, none overlapping another."""
    img = scene.image
    taken: list[tuple] = []
    for _ in range(count):
        text = phrase(rng, lang)
        latin = rng.choice(LATIN)
        px = px_for_height(text, latin, rng.uniform(*heights))
        style = "plain" if faint else rng.choices(["plain", "outline", "plate"], [5, 3, 2])[0]
        stroke = max(1, px // 14) if style == "outline" else 0
        w, h = masks(text, latin, px, stroke)[1].size
        if style == "plate":
            w, h = w + 2 * max(4, px // 3), h + 2 * max(4, px // 3)
        if w > img.width * 0.92:
            continue
        a = rng.uniform(-angle, angle) + (180 if upside_down else 0)
        # Free places; faint text goes where the photo is flattest of 30 tries (on a busy patch it
        # would be unreadable by anyone, not faint).
        spots = []
        for _try in range(300):
            cx, cy = rng.uniform(0, img.width), rng.uniform(0, img.height)
            hm = slanted(rng, w, h, a, cx, cy) if perspective else rotation(w, h, a, cx, cy)
            box = bbox(apply(hm, [(0, 0), (w, 0), (w, h), (0, h)]), 6)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= img.width and box[3] <= img.height
            if inside and not any(overlaps(box, t) for t in taken):
                spots.append((hm, box))
                if len(spots) == (30 if faint else 1):
                    break
        if not spots:
            continue
        hm, box = min(spots, key=lambda s: region_luminance(img, s[1]).std()) if faint else spots[0]
        taken.append(box)
        lum = region_luminance(img, box)
        plate = outline = None
        if faint:
            bg = mean_colour(img, box)
            colour = faint_colour(rng, bg)
            ratio = contrast(colour, bg)
        elif style == "plate":
            plate = rng.choice([(250, 250, 245), (20, 20, 20), (0, 90, 160), (200, 30, 30)])
            colour = (250, 250, 250) if luminance(plate) < 0.3 else (20, 20, 20)
            ratio = contrast(colour, plate)
        else:
            colour = pick_colour(rng, lum) if style == "plain" else None
            if colour is None:  # an outline was drawn, or no colour reads on all of this background
                colour = rng.choice(DARK + LIGHT)
                stroke = max(1, px // 14)
                outline = (0, 0, 0) if luminance(colour) > 0.3 else (255, 255, 255)
                ratio = contrast(colour, outline)
            else:
                ratio = worst_contrast(colour, lum)
        patch, ink = text_patch(text, latin, px, colour, stroke, outline, plate)
        place(img, patch, hm)
        scene.label(Line(text, latin, px, ink, ratio), hm)


# The kinds of image


def photo_with_text(rng, base, cls, count=(1, 4), heights=(20, 80), angle=8.0, **kw) -> Scene:
    scene = Scene(photo(base, rng.choice([960, 1024])), cls)
    free_text(rng, scene, rng.randint(*count), heights, angle, **kw)
    scene.tags += [t for t in ("perspective", "upside_down") if kw.get(t)]
    return scene


def street_sign(rng: random.Random, base: str) -> Scene:
    scene = Scene(photo(base, 1024), "street_sign")
    names = [f"{rng.choice(ADJECTIVES + PLACES[:8])} {rng.choice(['Street', 'Road', 'Avenue', 'Lane', 'Drive'])}"]
    if rng.random() < 0.6:
        names.append(f"{rng.randint(100, 1999)} {rng.choice(['North', 'South', 'East', 'West'])}")
    latin = rng.choice(["DejaVuSans-Bold", "LiberationSans-Bold", "LiberationSansNarrow-Bold"])
    px = rng.randint(40, 62)
    green = rng.choice([(0, 105, 60), (20, 60, 140)])
    widths = [masks(t, latin, int(px * (1 if i == 0 else 0.7)))[0].width for i, t in enumerate(names)]
    w = max(widths) + px
    h = sum(line_height(t, latin, int(px * (1 if i == 0 else 0.7))) for i, t in enumerate(names)) + px // 2
    sign = Image.new("RGBA", (w, h), (*green, 0))
    ImageDraw.Draw(sign).rounded_rectangle((0, 0, w - 1, h - 1), px // 4, fill=(*green, 255))
    ImageDraw.Draw(sign).rounded_rectangle((4, 4, w - 5, h - 5), px // 5, outline=(255, 255, 255), width=3)
    y, lines = px // 4, []
    for i, t in enumerate(names):
        size = int(px * (1 if i == 0 else 0.7))
        lines.append(draw(sign, ((w - widths[i]) / 2, y), t, latin, size, (255, 255, 255), green))
        y += line_height(t, latin, size)
    cx, cy = rng.uniform(w / 2 + 20, scene.image.width - w / 2 - 20), rng.uniform(h / 2 + 20, scene.image.height / 2)
    hm = slanted(rng, w, h, rng.uniform(-6, 6), cx, cy)
    place(scene.image, sign, hm)
    for line in lines:
        scene.label(line, hm)
    scene.tags.append("perspective")
    return scene


def sticker(rng: random.Random, base: str) -> Scene:
    """A router's label: model, network name, the Wi-Fi password, serial number, a barcode."""
    scene = Scene(photo(base, 1024), "sticker")
    brand = rng.choice(["HomeLink", "NetWave", "AirBridge"])
    password = "".join(rng.choice(PASSWORD_CHARS) for _ in range(rng.randint(8, 10)))
    texts = [
        (f"{brand} AX{rng.choice([1500, 1800, 3000])} Router", "DejaVuSans-Bold", 30),
        (f"SSID: {brand}-{rng.randint(1000, 9999)}", "DejaVuSans", 24),
        (f"WiFi password: {password}", "DejaVuSans-Bold", 28),
        ("Admin: http://192.168.1.1", "DejaVuSans", 22),
        (f"S/N: {''.join(rng.choice('ABCDEFGHJKMNPRSTUVWXYZ23456789') for _ in range(10))}", "DejaVuSans", 16),
    ]
    paper = (238, 238, 232)
    w = max(masks(t, f, p)[0].width for t, f, p in texts) + 40
    h = sum(line_height(t, f, p) + 6 for t, f, p in texts) + 90
    label = Image.new("RGBA", (w, h), (*paper, 0))
    ImageDraw.Draw(label).rounded_rectangle((0, 0, w - 1, h - 1), 10, fill=(*paper, 255))
    y, lines = 16, []
    for t, f, p in texts:
        lines.append(draw(label, (20, y), t, f, p, (25, 25, 25), paper))
        y += line_height(t, f, p) + 6
    d, x = ImageDraw.Draw(label), 20
    while x < w - 30:  # a barcode
        bar = rng.choice([2, 3, 5])
        d.rectangle((x, y + 10, x + bar - 1, y + 60), fill=(20, 20, 20, 255))
        x += bar + rng.choice([2, 3, 4])
    angle = rng.uniform(-5, 5)
    hm = rotation(w, h, angle, scene.image.width / 2 + rng.uniform(-60, 60), scene.image.height / 2)
    place(scene.image, label, hm)
    for line in lines:
        scene.label(line, hm)
    return scene


def receipt(rng: random.Random, base: str) -> Scene:
    scene = Scene(photo(base, 1200), "receipt")
    latin = rng.choice(["DejaVuSansMono", "LiberationMono"])
    store = rng.choice(["HARBOR HARDWARE", "GREEN LEAF MARKET", "CORNER BAKERY"])
    items = rng.sample(
        ["Hammer", "Screws", "Paint roller", "Batteries", "Light bulbs", "Tape measure", "Gloves", "Sandpaper"], 5
    )
    prices = [rng.randint(150, 2999) / 100 for _ in items]
    total = sum(prices)
    body = [
        (store, 34),
        (f"{rng.randint(10, 999)} Market Street", 22),
        (f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 16:42", 22),
    ]
    body += [(f"{name:<14}{price:>8.2f}", 24) for name, price in zip(items, prices, strict=True)]
    body += [(f"{'SUBTOTAL':<14}{total:>8.2f}", 24), (f"{'TOTAL':<14}{total * 1.08:>8.2f}", 28)]
    body += [(f"VISA **** {rng.randint(1000, 9999)}", 22), ("THANK YOU", 30)]
    paper = (246, 242, 230)
    w = max(masks(t, latin, p)[0].width for t, p in body) + 60
    h = sum(line_height(t, latin, p) + 8 for t, p in body) + 60
    page = Image.new("RGBA", (w, h), (*paper, 255))
    y, lines = 30, []
    for t, p in body:
        lines.append(draw(page, (30, y), t, latin, p, (40, 40, 45), paper))
        y += line_height(t, latin, p) + 8
    img = scene.image
    scale = min(1.0, 0.9 * img.height / h, 0.8 * img.width / w)
    hm = rotation(w, h, rng.uniform(-6, 6), img.width / 2, img.height / 2, scale)
    if rng.random() < 0.5:
        hm = slanted(rng, w * scale, h * scale, rng.uniform(-4, 4), img.width / 2, img.height / 2) @ np.diag(
            [scale, scale, 1]
        )
        scene.tags.append("perspective")
    place(img, page, hm)
    for line in lines:
        scene.label(line, hm)
    return scene


def screenshot(rng: random.Random, kind: str) -> Scene:
    """A screen: a desktop settings window at 1× or 2×, or a phone's chat (English or Chinese)."""
    if kind.startswith("phone"):
        return phone(rng, kind.endswith("zh"))
    s = 2 if kind.endswith("2x") else 1
    dark = rng.random() < 0.3
    bg, fg, side = (
        ((32, 33, 36), (230, 230, 230), (45, 46, 50)) if dark else ((246, 246, 248), (30, 30, 30), (232, 232, 236))
    )
    img = Image.new("RGB", (1280 * s, 800 * s), bg)
    scene = Scene(img, "screenshot", [f"{s}x"], fmt="PNG")
    ident = np.eye(3)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, img.width, 34 * s), fill=side)
    d.rectangle((0, 34 * s, 230 * s, img.height), fill=side)
    ui = rng.choice(["DejaVuSans", "LiberationSans"])
    page = rng.choice(["Network", "Display", "Storage", "Privacy", "Accounts"])
    scene.label(draw(img, (12 * s, 8 * s), f"Settings - {page}", ui, 14 * s, fg, side), ident)
    for i, item in enumerate(["General", "Network", "Display", "Storage", "Privacy", "Updates", "Accounts"]):
        scene.label(draw(img, (24 * s, (60 + 34 * i) * s), item, ui, 15 * s, fg, side), ident)
    scene.label(draw(img, (260 * s, 56 * s), f"{page} settings", ui, 26 * s, fg, bg), ident)
    y = 110
    for _ in range(rng.randint(8, 11)):
        label = f"{rng.choice(ADJECTIVES)} {rng.choice(THINGS).lower()}"
        value = rng.choice(["Enabled", "Disabled", "Automatic", f"{rng.randint(2, 98)} percent", "Never"])
        scene.label(draw(img, (260 * s, y * s), label, ui, 15 * s, fg, bg), ident)
        scene.label(draw(img, (760 * s, y * s), value, ui, 15 * s, (110, 110, 115), bg), ident)
        y += 36
    red = (190, 40, 40)
    d.rectangle((260 * s, (y + 10) * s, 1240 * s, (y + 56) * s), fill=red)
    error = rng.choice(["Error: could not connect to server (timeout)", "Connection refused: check the proxy settings"])
    scene.label(draw(img, (276 * s, (y + 22) * s), error, ui, 16 * s, (255, 255, 255), red), ident)
    for i, button in enumerate(["Cancel", "Save changes"]):
        x = (1000 + 120 * i) * s
        d.rounded_rectangle((x - 10 * s, 740 * s, x + 105 * s, 774 * s), 6 * s, fill=side)
        scene.label(draw(img, (x, 748 * s), button, ui, 14 * s, fg, side), ident)
    return scene


def phone(rng: random.Random, chinese: bool) -> Scene:
    img = Image.new("RGB", (1080, 2340), (255, 255, 255))
    scene = Scene(img, "screenshot", ["phone"] + (["zh"] if chinese else []), fmt="PNG")
    ident, d = np.eye(3), ImageDraw.Draw(img)
    ui = rng.choice(["DejaVuSans", "LiberationSans"])
    scene.label(
        draw(img, (60, 40), f"{rng.randint(7, 22)}:{rng.randint(10, 59)}", ui, 38, (0, 0, 0), (255, 255, 255)), ident
    )
    d.rectangle((0, 120, 1080, 260), fill=(245, 245, 247))
    title = "消息" if chinese else rng.choice(["Messages", "Family group", "Weekend trip"])
    scene.label(draw(img, (60, 160), title, ui, 52, (0, 0, 0), (245, 245, 247)), ident)
    y = 320
    while y < 2000:
        mine = rng.random() < 0.5
        text = f"{rng.choice(CHINESE)} {rng.choice(CHINESE_SHORT)}" if chinese else rng.choice(MESSAGES)
        px = rng.choice([40, 44, 48])
        fill, _, _ = masks(text, ui, px)
        if fill.width > 860:  # wrap into two lines at a space
            cut = text.rfind(" ", 0, len(text) * 860 // fill.width)
            parts = [text[:cut], text[cut + 1 :]] if cut > 0 else [text]
        else:
            parts = [text]
        w = max(masks(p, ui, px)[0].width for p in parts) + 60
        h = sum(line_height(p, ui, px) for p in parts) + 40
        x = 1080 - 50 - w if mine else 50
        bubble, ink = ((0, 122, 255), (255, 255, 255)) if mine else ((233, 233, 235), (0, 0, 0))
        d.rounded_rectangle((x, y, x + w, y + h), 36, fill=bubble)
        ty = y + 20
        for p in parts:
            scene.label(draw(img, (x + 30, ty), p, ui, px, ink, bubble), ident)
            ty += line_height(p, ui, px)
        y += h + 36
    d.rounded_rectangle((40, 2180, 1040, 2280), 50, outline=(200, 200, 200), width=3)
    prompt = "输入消息" if chinese else "Type a message"
    scene.label(draw(img, (90, 2205), prompt, ui, 40, (150, 150, 150), (255, 255, 255)), ident)
    return scene


def document(rng: random.Random, base: str) -> Scene:
    """A printed notice photographed on a table, at 12 MP (4000×3000): the text-heavy timing case."""
    img = photo(base, 4000)
    img = img.crop((0, 0, 4000, 3000)) if img.height >= 3000 else img.resize((4000, 3000), Image.LANCZOS)
    img = grain(img, np.random.default_rng(rng.randint(0, 2**31)))
    scene = Scene(img, "text_heavy", ["timing"])
    latin = rng.choice(["DejaVuSerif", "LiberationSans", "DejaVuSans"])
    paper = (250, 250, 246)
    body = [("Community Garden Notice", 96)]
    for _ in range(24):
        body.append((" ".join(rng.choice(PLACES + THINGS + ADJECTIVES).lower() for _ in range(rng.randint(3, 5))), 58))
    body[1] = ("Opening hours Monday to Saturday", 58)
    w = max(masks(t, latin, p)[0].width for t, p in body) + 240
    h = sum(line_height(t, latin, p) + 18 for t, p in body) + 200
    page = Image.new("RGBA", (w, h), (*paper, 255))
    y, lines = 100, []
    for t, p in body:
        lines.append(draw(page, (120, y), t, latin, p, (25, 25, 25), paper))
        y += line_height(t, latin, p) + 18
    scale = min(0.92 * img.height / h, 0.8 * img.width / w)
    hm = rotation(w, h, rng.uniform(-3, 3), img.width / 2, img.height / 2, scale)
    place(img, page, hm)
    for line in lines:
        scene.label(line, hm)
    return scene


def grain(img: Image.Image, rng: np.random.Generator, sigma: float = 2.5) -> Image.Image:
    """Sensor-like noise, so an upscaled photo compresses and decodes like a camera's."""
    a = np.asarray(img, np.float32) + rng.normal(0, sigma, (img.height, img.width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def without_text(rng: random.Random, base: str) -> Scene:
    """A fixture photo cropped, flipped, resized, recoloured, blurred or turned by EXIF; no text."""
    img = photo(base, rng.choice([640, 800, 1024, 1280]))
    tags = []
    if rng.random() < 0.6:
        k = rng.uniform(0.6, 0.95)
        w, h = round(img.width * k), round(img.height * k)
        x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
        img = img.crop((x, y, x + w, y + h))
        tags.append("crop")
    if rng.random() < 0.4:
        img = ImageOps.mirror(img)
    if rng.random() < 0.4:
        arr = np.asarray(img, np.float32) * rng.uniform(0.7, 1.25) + rng.uniform(-20, 20)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        tags.append("recolour")
    if rng.random() < 0.25:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.0)))
        tags.append("blur")
    scene = Scene(img, "no_text", tags, fmt=rng.choice(["JPEG", "JPEG", "PNG"]), quality=rng.choice([75, 85, 95]))
    if scene.fmt == "JPEG" and rng.random() < 0.35:
        scene.orientation = rng.choice([3, 6, 8])
    return scene


def big_photo(rng: random.Random, base: str) -> Scene:
    """A fixture photo at 12 MP with grain: the no-text timing case."""
    img = photo(base, 4000)
    top = (img.height - 3000) // 2
    img = img.crop((0, top, 4000, top + 3000)) if img.height >= 3000 else img.resize((4000, 3000), Image.LANCZOS)
    return Scene(grain(img, np.random.default_rng(rng.randint(0, 2**31))), "no_text", ["timing"])


def blurred(scene: Scene, radius: float) -> Scene:
    scene.image = scene.image.filter(ImageFilter.GaussianBlur(radius))
    scene.tags.append("blur")
    return scene


def turned(scene: Scene, orientation: int) -> Scene:
    scene.orientation = orientation
    return scene


# The corpus


def recipes() -> list[tuple[str, Callable[[random.Random], Scene]]]:
    """Every image as (file stem, how to make it from its own random generator)."""
    out: list[tuple[str, Callable[[random.Random], Scene]]] = []

    def add(stem, fn):
        out.append((stem, fn))

    b = BASES
    for i in range(16):
        add(f"photo_text-{i:02d}", lambda r, i=i: photo_with_text(r, b[i % 8], "photo_text"))
    for i in range(5):
        add(
            f"faint-{i:02d}",
            lambda r, i=i: photo_with_text(r, b[(i + 3) % 8], "faint", (1, 2), (24, 60), 3, faint=True),
        )
    for i in range(3):
        add(f"small_text-{i:02d}", lambda r, i=i: photo_with_text(r, b[(i + 5) % 8], "small_text", (2, 4), (10, 18), 3))
    for i, o in enumerate([6, 8, 3, 6, 8, 3]):
        add(f"exif-{i:02d}", lambda r, i=i, o=o: turned(photo_with_text(r, b[(i + 1) % 8], "exif_rotated"), o))
    for i, radius in enumerate([1.0, 1.5, 2.0, 2.5]):
        add(
            f"blur-{i:02d}",
            lambda r, i=i, rad=radius: blurred(photo_with_text(r, b[(i + 2) % 8], "blur", (1, 3), (24, 80)), rad),
        )
    for i in range(4):
        add(
            f"perspective-{i:02d}",
            lambda r, i=i: photo_with_text(r, b[(i + 4) % 8], "perspective", (1, 3), (28, 70), 5, perspective=True),
        )
    for i in range(2):
        add(
            f"upside_down-{i:02d}",
            lambda r, i=i: photo_with_text(r, b[(i + 6) % 8], "upside_down", (1, 2), (28, 64), 5, upside_down=True),
        )
    for i in range(6):
        add(
            f"chinese-{i:02d}",
            lambda r, i=i: photo_with_text(r, b[(i + 2) % 8], "chinese", (1, 3), (24, 72), 6, lang="zh"),
        )
    for i, kind in enumerate(["desktop-1x", "desktop-2x", "phone-en", "phone-zh", "desktop-1x", "desktop-2x"]):
        add(f"screenshot-{i:02d}", lambda r, kind=kind: screenshot(r, kind))
    add("sticker-00", lambda r: sticker(r, "camera.png"))
    add("sticker-01", lambda r: turned(sticker(r, "coffee.png"), 6))
    add("receipt-00", lambda r: receipt(r, "coffee.png"))
    add("receipt-01", lambda r: receipt(r, "camera.png"))
    for i, base in enumerate(["camera.png", "rocket.jpg", "astronaut.png"]):
        add(f"street_sign-{i:02d}", lambda r, base=base: street_sign(r, base))
    for i in range(34):
        add(f"no_text-{i:02d}", lambda r, i=i: without_text(r, b[i % 8]))
    return out


def _rng(seed: int, stem: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}/{stem}".encode()).digest()[:8], "big"))


def scenes(seed: int = SEED, only: set[str] | None = None) -> dict[str, Scene]:
    """The corpus in memory (upright images and labels), by file stem."""
    out = {}
    for stem, make in recipes():
        if only is None or stem in only:
            out[stem] = make(_rng(seed, stem))
    for kind, make, base in (("text_heavy", document, "coffee.png"), ("no_text", big_photo, "rocket.jpg")):
        stem = f"timing-{kind}"
        if only is not None and not ({f"{stem}-12mp", f"{stem}-3mp"} & only):
            continue
        big = make(_rng(seed, stem), base)
        big.timing, small = f"{kind}_12mp", big.scaled((2000, 1500))
        small.timing = f"{kind}_3mp"
        for s, name in ((big, f"{stem}-12mp"), (small, f"{stem}-3mp")):
            if only is None or name in only:
                out[name] = s
    return out


def encode(scene: Scene) -> bytes:
    """The image file: the upright pixels stored turned back when an orientation tag is set."""
    stored = scene.image.transpose(STORE[scene.orientation]) if scene.orientation != 1 else scene.image
    buf = io.BytesIO()
    exif = Image.Exif()
    if scene.orientation != 1:
        exif[0x0112] = scene.orientation
    if scene.fmt == "PNG":
        stored.save(buf, "PNG", exif=exif.tobytes() if scene.orientation != 1 else None)
    else:
        stored.save(buf, "JPEG", quality=scene.quality, exif=exif.tobytes())
    return buf.getvalue()


def label_of(scene: Scene) -> dict:
    tags = list(scene.tags) + (["exif"] if scene.orientation != 1 else [])
    out = {
        "class": scene.cls,
        "tags": sorted(set(tags)),
        "orientation": scene.orientation,
        "width": scene.image.width,
        "height": scene.image.height,
        "has_text": bool(scene.lines),
        "words": counted_words(scene.lines),
        "lines": [{**line, "counted": line["height_px"] >= MIN_HEIGHT_PX} for line in scene.lines],
    }
    if scene.timing:
        out["timing"] = scene.timing
    return out


def file_name(stem: str, scene: Scene) -> str:
    return f"{stem}.{'png' if scene.fmt == 'PNG' else 'jpg'}"


def generate(out: Path, seed: int = SEED, only: set[str] | None = None) -> dict:
    """Write the corpus's images and `labels.json` into `out`; return the labels."""
    out.mkdir(parents=True, exist_ok=True)
    images = {}
    for stem, scene in scenes(seed, only).items():
        name = file_name(stem, scene)
        (out / name).write_bytes(encode(scene))
        images[name] = label_of(scene)
    labels = {
        "generator": "python -m clipstream_models ocr-corpus",
        "seed": seed,
        "counted": {
            "min_chars": MIN_CHARS,
            "min_height_px": MIN_HEIGHT_PX,
            "rule": "words are runs of letters and digits; they count when >= min_chars long in a line whose "
            "ink is >= min_height_px high in the upright image (polygons and heights are upright)",
        },
        "images": dict(sorted(images.items())),
    }
    (out / "labels.json").write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n")
    return labels
