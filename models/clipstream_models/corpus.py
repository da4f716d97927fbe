"""Fixed, seeded text corpora: tokenizer equivalence strings and the query set for parity and sweeps."""

from __future__ import annotations

import random
import unicodedata

SUBJECTS = [
    "dog",
    "cat",
    "child",
    "old man",
    "woman",
    "bicycle",
    "red car",
    "sailboat",
    "lighthouse",
    "mountain",
    "birthday cake",
    "wedding",
    "horse",
    "bridge",
    "waterfall",
    "city skyline",
    "market stall",
    "snowman",
    "tent",
    "forest path",
    "kitchen",
    "train station",
    "pizza",
    "guitar",
    "surfer",
    "sunflower field",
    "fireworks",
    "castle",
    "desert road",
    "puppy",
]
SCENES = [
    "on a beach",
    "at sunset",
    "in the snow",
    "under the rain",
    "at night",
    "in a park",
    "by the lake",
    "in the mountains",
    "on a city street",
    "in the kitchen",
    "at the zoo",
    "in autumn leaves",
    "on a boat",
    "inside a museum",
    "at a concert",
    "in fog",
]
ADJECTIVES = ["small", "big", "happy", "blurry", "colorful", "black and white", "old", "tiny", "sleepy"]

PUNCTUATION = [
    "dog!!!",
    "cat??",
    "what's this?",
    "beach... sunset",
    "red-car",
    "a/b test",
    "(grandma)",
    "[draft] photo",
    "{json}",
    "50% off",
    "#sunset #beach",
    "@mom",
    "e-mail: a@b.c",
    "c'est la vie",
    "rock'n'roll",
    "it's",
    "they're",
    "we've",
    "I'm",
    "you'll",
    "he'd",
    '"quoted"',
    "'single'",
    "semi;colon",
    "colon:here",
    "a, b, and c",
    "tilde~wave",
    "back\\slash",
    "under_score",
    "plus+minus-",
    "x*y=z",
    "<tag>",
    "a|b",
    "^caret^",
    "$100",
    "&",
    "!?!?",
    "...",
    "--",
    "`code`",
    "«guillemets»",
    "¿qué?",
    "¡hola!",
    "100€",
    "£20",
    "¥500",
    "§3",
    "©2024",
]
UNICODE_WORDS = [
    "café",
    "naïve",
    "crème brûlée",
    "Zürich",
    "São Paulo",
    "Kraków",
    "Ørsted",
    "straße",
    "İstanbul",
    "façade",
    "smörgåsbord",
    "東京タワー",
    "富士山",
    "猫",
    "北京烤鸭",
    "강아지",
    "서울 야경",
    "собака на пляже",
    "Москва",
    "Ελλάδα",
    "θάλασσα",
    "كلب على الشاطئ",
    "שלום",
    "कुत्ता",
    "ภูเขา",
    "Việt Nam",
    "Ağrı Dağı",
    "Þingvellir",
    "ŁÓDŹ",
    "ÆØÅ",
    "ﬁsh ﬂower",
    "ＦＵＬＬＷＩＤＴＨ",
    "①②③",
    "Ⅻ",
    "µm",
    "Å",
    "ß",
]
EMOJI = [
    "🐶",
    "🐱 on a 🛋️",
    "🏖️🌅",
    "👨‍👩‍👧‍👦 family",
    "👍🏽",
    "🇯🇵 trip",
    "❤️",
    "🔥🔥🔥",
    "🎂 party",
    "🚗💨",
    "🌧️☔",
    "🏔️",
    "🍕 + 🍺",
    "😂😂",
    "🧑🏿‍🚀",
    "🏳️‍🌈",
    "✨ sparkle ✨",
    "☕️",
    "🐕‍🦺",
    "🌊",
]
CURLY = ["it’s", "don’t", "‘hello’", "“quoted”", "grandma’s house", "rock ’n’ roll", "the ’90s"]
WHITESPACE = [
    "  leading",
    "trailing  ",
    "two  spaces",
    "tab\there",
    "new\nline",
    "cr\r\nlf",
    "\u00a0nbsp\u00a0",
    "ideographic\u3000space",
    "thin\u2009space",
    "em\u2003space",
    "  \t mixed \n ",
    "line\u2028sep",
]


def _caption(rng: random.Random) -> str:
    text = f"a {rng.choice(ADJECTIVES)} {rng.choice(SUBJECTS)} {rng.choice(SCENES)}"
    if rng.random() < 0.3:
        text += f" and a {rng.choice(SUBJECTS)}"
    return text


def _recase(rng: random.Random, text: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return text.upper()
    if style == 1:
        return text.title()
    if style == 2:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in text)
    return text


def _digits(rng: random.Random) -> str:
    forms = [
        f"{rng.randrange(1900, 2030)}",
        f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1990, 2030)}",
        f"IMG_{rng.randrange(10000):04d}.JPG",
        f"{rng.randrange(1, 999)} {rng.choice(['km', 'mm', 'kg', 'photos', 'people'])}",
        f"{rng.random() * 100:.2f}",
        f"3.14159 and {rng.randrange(10**9)}",
        f"room {rng.randrange(100, 999)}b",
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
    ]
    return rng.choice(forms)


def _random_mix(rng: random.Random) -> str:
    pools = [
        "abcdefghijklmnopqrstuvwxyz",
        "ABCXYZ",
        "0123456789",
        " .,!?'-_/()",
        "éàüñçøåß",
        "日本語漢字",
        "абвгд",
        "αβγδ",
        "🐶🌅🍕❤",
        "\t\n ",
        "’“”",
        "ﬁ",
        "\u0301\u0308",
    ]
    n = rng.randrange(1, 40)
    return "".join(rng.choice(rng.choice(pools)) for _ in range(n))


def _long(rng: random.Random) -> str:
    words = [_caption(rng) for _ in range(rng.randrange(10, 20))]
    return ", ".join(words)


def tokenizer_corpus(seed: int = 20261126) -> list[str]:
    """≥2000 varied strings for tokenizer equivalence, deterministic for a seed."""
    rng = random.Random(seed)
    out: list[str] = []
    out += [_caption(rng) for _ in range(500)]
    out += [_recase(rng, _caption(rng)) for _ in range(200)]
    out += PUNCTUATION + [f"{rng.choice(PUNCTUATION)} {_caption(rng)} {rng.choice(PUNCTUATION)}" for _ in range(150)]
    out += UNICODE_WORDS + [f"{rng.choice(UNICODE_WORDS)} {rng.choice(SCENES)}" for _ in range(200)]
    out += [unicodedata.normalize("NFD", w) for w in UNICODE_WORDS]
    out += EMOJI + [f"{rng.choice(EMOJI)} {_caption(rng)}" for _ in range(150)]
    out += CURLY + [f"{rng.choice(CURLY)} {_caption(rng)}" for _ in range(50)]
    out += WHITESPACE + [rng.choice(WHITESPACE).replace("space", _caption(rng)) for _ in range(50)]
    out += [_digits(rng) for _ in range(150)]
    out += [_random_mix(rng) for _ in range(300)]
    out += [_long(rng) for _ in range(100)]
    out += ["", " ", "a", "A", "the", "\u200b", "x" * 300]
    return out


def query_set(n: int = 128, seed: int = 7) -> list[str]:
    """Typical photo-search queries, for parity checks and the quantization sweep."""
    rng = random.Random(seed)
    fixed = ["dog on a beach at sunset", "a red circle", "birthday party", "mountains in the snow"]
    return fixed + [_caption(rng) for _ in range(n - len(fixed))]
