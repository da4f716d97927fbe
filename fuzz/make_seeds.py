"""Write the fuzz seed corpus (fuzz/seeds/): one tiny image per format and pixel layout the
decoders handle. Run with the project venv: `source scripts/env.sh && "$PY" fuzz/make_seeds.py`."""

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent / "seeds"
W, H = 16, 12


def rgb() -> Image.Image:
    img = Image.new("RGB", (W, H))
    img.putdata([(x * 16, y * 21, (x + y) * 9) for y in range(H) for x in range(W)])
    return img


def exif(orientation: int) -> bytes:
    e = Image.Exif()
    e[0x0112] = orientation  # Orientation
    e[0x0132] = "2024:05:01 12:34:56"  # DateTime
    e.get_ifd(0x8769)[0x9003] = "2023:07:14 08:09:10"  # DateTimeOriginal
    return e.tobytes()


def save(name: str, img: Image.Image, fmt: str, **kw) -> None:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    data = buf.getvalue()
    assert len(data) < 4096, (name, len(data))
    (OUT / name).write_bytes(data)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def interlaced_png(img: Image.Image) -> bytes:
    """Adam7 RGB PNG (Pillow writes only non-interlaced PNGs)."""
    px = img.load()
    raw = b""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    for x0, y0, dx, dy in passes:
        for y in range(y0, H, dy):
            row = b"".join(bytes(px[x, y]) for x in range(x0, W, dx))
            if row:
                raw += b"\0" + row
    ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 1)  # 8-bit RGB, interlace = Adam7
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = rgb()
    save("jpeg_baseline_exif_orient6.jpg", base, "JPEG", quality=85, exif=exif(6))
    save("jpeg_progressive_exif_orient8.jpg", base, "JPEG", quality=85, progressive=True, exif=exif(8))
    save("jpeg_cmyk.jpg", base.convert("CMYK"), "JPEG", quality=85)
    save("jpeg_gray.jpg", base.convert("L"), "JPEG", quality=85)

    save("png_rgb_exif_orient3.png", base, "PNG", exif=exif(3))
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((W, H)))
    save("png_rgba.png", rgba, "PNG")
    gray16 = Image.new("I;16", (W, H))
    gray16.putdata([(x * 4000 + y * 300) % 65536 for y in range(H) for x in range(W)])
    save("png_gray16.png", gray16, "PNG")
    pal = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    save("png_palette_trns.png", pal, "PNG", transparency=0)
    data = interlaced_png(base)
    assert len(data) < 4096 and Image.open(io.BytesIO(data)).info.get("interlace") == 1
    (OUT / "png_rgb_interlaced.png").write_bytes(data)

    frames = [base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (OUT / "gif_animated_2frames.gif").write_bytes(buf.getvalue())

    save("webp_lossy.webp", base, "WEBP", quality=80)
    save("webp_lossless.webp", rgba, "WEBP", lossless=True)
    save("webp_animated_2frames.webp", base, "WEBP", save_all=True,
         append_images=[base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], duration=100, loop=0, quality=80)

    save("tiff_rgb_raw.tif", base, "TIFF", compression="raw")
    save("tiff_gray16.tif", gray16, "TIFF", compression="raw")
    save("bmp_rgb.bmp", base, "BMP")

    for p in sorted(OUT.iterdir()):
        with Image.open(p) as im:
            print(f"{p.name:40} {p.stat().st_size:5} B  {im.format} {im.mode} {im.size}")


if __name__ == "__main__":
    main()
