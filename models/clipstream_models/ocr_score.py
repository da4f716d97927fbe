"""How well a reader found the words of the OCR corpus: recall, false text, time per image.

A reader's results are JSON as `ocr_reference.run` writes them (`images` → file name → `lines`, each
with its `text` and `score`, and the image's `ms`); the Rust pipeline is held to the same measure
by writing the same shape. The rules, also written into `labels.json`:

- The words that count are the runs of letters and digits (`\\w+`) of ≥ 4 characters in lines whose
  ink is ≥ 20 px high in the upright image.
- A word is found when it occurs in the text of one of the image's lines, ignoring case, and is
  not part of a longer Latin word or number there: "password" is found in "WiFi password:", not in
  "passwords". Chinese words are found anywhere in a line (a reader may drop or add spaces between
  Chinese words).
- A photo without text has false text when any line is returned (the wheel returns only lines
  whose score is at least its `text_score`, 0.5).

Beside the strict recall, `recall_ignoring_spaces` finds a word anywhere in a line with its spaces
removed: the difference is the words read letter for letter but run into their neighbours
("BlueDrive"), which a substring search still finds and a whole-word search does not.
"""

from __future__ import annotations

import re
import statistics

MIN_CHARS = 4
MIN_HEIGHT_PX = 20.0
FAINT = 3.0  # a line whose contrast with what is under it is below this is reported apart
_WORD = re.compile(r"\w+")
_LATIN_OR_DIGIT = re.compile(r"[0-9a-z]")


def words(text: str) -> list[str]:
    """The words of a line: runs of letters and digits (underscore excluded)."""
    return [w for w in _WORD.findall(text.replace("_", " "))]


def counted_words(lines: list[dict]) -> list[str]:
    """The words of these labelled lines that the recall counts (≥ 4 characters, line ≥ 20 px)."""
    return [
        w for line in lines if line["height_px"] >= MIN_HEIGHT_PX for w in words(line["text"]) if len(w) >= MIN_CHARS
    ]


def found(word: str, texts: list[str]) -> bool:
    """Whether `word` is in one of `texts` as a whole word (see the module's rules)."""
    w = word.casefold()
    before = r"(?<![0-9a-z])" if _LATIN_OR_DIGIT.match(w[0]) else ""
    after = r"(?![0-9a-z])" if _LATIN_OR_DIGIT.match(w[-1]) else ""
    pattern = re.compile(before + re.escape(w) + after)
    return any(pattern.search(t.casefold()) for t in texts)


def _ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def score(labels: dict, results: dict) -> dict:
    """Recall overall, per class and per tag; false text on photos without text; time per image."""
    images = labels["images"]
    missing = sorted(set(images) - set(results["images"]))
    if missing:
        raise ValueError(f"no result for {len(missing)} labelled images, e.g. {missing[:3]}")
    total = hit = 0
    by: dict[str, list[int]] = {}
    small, spaced = [0, 0], [0]
    missed: list[dict] = []
    false_text: list[dict] = []
    for name, label in images.items():
        result = results["images"][name]
        texts = [line["text"] for line in result["lines"]]
        if not label["has_text"]:
            if result["lines"]:
                false_text.append({"image": name, "lines": [(x["text"], x["score"]) for x in result["lines"]]})
            continue
        squeezed = [re.sub(r"\s+", "", t.casefold()) for t in texts]
        for line in label["lines"]:
            keys = [f"class:{label['class']}", *(f"tag:{t}" for t in label["tags"]), f"lang:{line['lang']}"]
            keys += ["faint lines (contrast < 3)"] if line["contrast"] < FAINT else []
            for w in words(line["text"]):
                if len(w) < MIN_CHARS:
                    continue
                ok = found(w, texts)
                if line["height_px"] < MIN_HEIGHT_PX:
                    small[0] += ok
                    small[1] += 1
                    continue
                total += 1
                hit += ok
                letters = any(w.casefold() in t for t in squeezed)
                spaced[0] += letters
                for k in keys:
                    by.setdefault(k, [0, 0, 0])
                    by[k][0] += ok
                    by[k][1] += letters
                    by[k][2] += 1
                if not ok:
                    missed.append({"image": name, "word": w, "line": line["text"], "read": texts, "letters": letters})
    no_text = [n for n, lab in images.items() if not lab["has_text"]]
    timed = {n: results["images"][n]["ms"] for n in images if "ms" in results["images"][n]}
    ms = list(timed.values())
    timing = {lab["timing"]: timed.get(n) for n, lab in images.items() if lab.get("timing")}
    return {
        "images": len(images),
        "not_decoded": sorted(n for n in images if "error" in results["images"][n]),
        "images_with_text": len(images) - len(no_text),
        "images_without_text": len(no_text),
        "words": total,
        "recall": _ratio(hit, total),
        "recall_ignoring_spaces": _ratio(spaced[0], total),
        "recall_by": {
            k: {"recall": _ratio(h, n), "recall_ignoring_spaces": _ratio(sp, n), "words": n}
            for k, (h, sp, n) in sorted(by.items())
        },
        "small_text_recall": {"recall": _ratio(*small), "words": small[1], "below_px": MIN_HEIGHT_PX},
        "false_text_images": len(false_text),
        "false_text_images_two_letters": sum(
            any(len(re.findall(r"[^\W_]", t)) >= 2 for t, _ in f["lines"]) for f in false_text
        ),
        "false_text": false_text,
        "ms_per_image": {
            "median": round(statistics.median(ms), 1),
            "mean": round(statistics.fmean(ms), 1),
            "max": round(max(ms), 1),
            "no_text_median": round(statistics.median(timed[n] for n in no_text if n in timed), 1)
            if any(n in timed for n in no_text)
            else None,
        },
        "timing_ms": timing,
        "missed": missed,
    }


def table(s: dict) -> str:
    """The score as a short markdown table (recall per class, tag and kind of line)."""
    rows = [
        "| words in | words | recall | ignoring spaces |",
        "| --- | ---: | ---: | ---: |",
        f"| all | {s['words']} | {s['recall']} | {s['recall_ignoring_spaces']} |",
    ]
    rows += [
        f"| {k} | {v['words']} | {v['recall']} | {v['recall_ignoring_spaces']} |" for k, v in s["recall_by"].items()
    ]
    st = s["small_text_recall"]
    rows.append(f"| (not counted) lines < {st['below_px']:.0f} px | {st['words']} | {st['recall']} | |")
    return "\n".join(rows)
