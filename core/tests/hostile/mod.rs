//! A generator of hostile photo folders: the ways a folder collected over decades, on flaky drives,
//! can be broken. Shared by the core library's tests and the CLI's (`#[path]`), so both face the
//! same files. Well-formed variants come from the fuzzer's seeds (`fuzz/seeds`: 16-bit, CMYK,
//! grayscale, palette, alpha, animated, EXIF-rotated), damaged ones are derived from them and from
//! real photos, and the rest is built byte by byte here.
#![allow(dead_code)]

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// What indexing must make of one generated entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Indexed,
    /// Listed as skipped with a reason containing one of these.
    Skipped(&'static [&'static str]),
    /// Indexed, or skipped with a reason: a decoder may make sense of damaged data.
    Either,
    /// Not a candidate (a folder or pipe named like a photo): neither indexed nor listed.
    Ignored,
}

#[derive(Debug, Clone)]
pub struct Case {
    /// Relative to the generated folder.
    pub path: PathBuf,
    pub kind: &'static str,
    pub expect: Expect,
}

/// Refused by the pixel limit, from the header, before any pixel is allocated.
const TOO_BIG: &[&str] = &["pixels is over the limit"];
/// A link followed out of the library's folders.
const OUTSIDE: &[&str] = &["outside the library's folders"];

const EXTENSIONS: &[&str] = &["jpg", "png", "gif", "webp", "tif", "bmp"];

/// A small deterministic generator (xorshift64*): the same hostile files on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Files by name, with their bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// The fuzzer's seed images and a few real photos, each sorted by name.
pub fn sources(repo: &Path) -> (Files, Files) {
    let read_dir = |dir: PathBuf, keep: &dyn Fn(&str) -> bool| {
        let mut out: Files = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| keep(&p.file_name().expect("name").to_string_lossy()))
            .map(|p| {
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                (name, std::fs::read(&p).expect("read"))
            })
            .collect();
        out.sort();
        out
    };
    let seeds = read_dir(repo.join("fuzz/seeds"), &|_| true);
    let photos = read_dir(repo.join("tests/fixtures/photos"), &|n| {
        [
            "chelsea_rotated.jpg",
            "coffee.png",
            "color.tif",
            "no_time_for_that_tiny.gif",
        ]
        .contains(&n)
    });
    assert!(seeds.len() >= 10, "fuzz/seeds holds {} files", seeds.len());
    (seeds, photos)
}

fn write(folder: &Path, rel: impl AsRef<Path>, bytes: &[u8]) -> PathBuf {
    let path = folder.join(rel.as_ref());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    rel.as_ref().to_path_buf()
}

fn extension(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or("")
}

/// Write the hostile folder into `folder` (and the files links escape to into `outside`).
/// `unreadable` adds files and a folder with no read permission: they are unreadable only to a
/// process without root's override, so only tests that drop it ask for them.
pub fn generate(repo: &Path, folder: &Path, outside: &Path, unreadable: bool) -> Vec<Case> {
    let (seeds, photos) = sources(repo);
    let mut rng = Rng(0x5EED_C11F);
    let mut cases = Vec::new();
    let mut case = |path: PathBuf, kind: &'static str, expect: Expect| {
        cases.push(Case { path, kind, expect });
    };

    // Well-formed but unusual: 16-bit, CMYK, gray, palette + transparency, alpha, animated, ...
    for (name, bytes) in &seeds {
        case(
            write(folder, format!("variants/{name}"), bytes),
            "unusual pixel format",
            Expect::Indexed,
        );
    }
    // The content decides, not the name.
    let png = &seeds
        .iter()
        .find(|(n, _)| n.ends_with(".png"))
        .expect("a png seed")
        .1;
    let jpeg = &seeds
        .iter()
        .find(|(n, _)| n == "jpeg_gray.jpg")
        .expect("jpeg_gray seed")
        .1;
    case(
        write(folder, "named/really-a-png.jpg", png),
        "wrong extension",
        Expect::Indexed,
    );
    case(
        write(folder, "named/really-a-jpeg.TIF", jpeg),
        "wrong extension",
        Expect::Indexed,
    );

    for (name, bytes) in seeds.iter().chain(&photos) {
        let ext = extension(name);
        let stem = name.trim_end_matches(&format!(".{ext}")[..]);
        // Cut short, as a copy to a flaky drive or an interrupted download leaves them.
        for quarter in 1..=3 {
            let cut = bytes.len() * quarter / 4;
            let expect = if ext == "jpg" {
                Expect::Skipped(&["truncated JPEG", "unreadable header", "corrupt"])
            } else {
                Expect::Either
            };
            case(
                write(
                    folder,
                    format!("truncated/{stem}-{quarter}of4.{ext}"),
                    &bytes[..cut],
                ),
                "truncated",
                expect,
            );
        }
        // Bit rot: a few bytes overwritten in the header, and a few in the data.
        for (label, range) in [
            ("header", 0..bytes.len().min(64)),
            ("data", bytes.len() / 2..bytes.len()),
        ] {
            let mut bad = bytes.clone();
            for _ in 0..8 {
                let at = range.start + rng.below(range.len().max(1));
                bad[at] = rng.next() as u8;
            }
            case(
                write(folder, format!("corrupt/{stem}-{label}.{ext}"), &bad),
                "corrupt",
                Expect::Either,
            );
        }
    }

    for ext in EXTENSIONS {
        case(
            write(folder, format!("empty/zero.{ext}"), b""),
            "zero bytes",
            Expect::Skipped(&["empty file"]),
        );
        case(
            write(folder, format!("random/noise.{ext}"), &rng.bytes(4096)),
            "random bytes",
            Expect::Skipped(&["not an image"]),
        );
    }

    for (name, bytes) in [
        ("bomb.png", png_claiming(100_000, 100_000)),
        ("bomb.gif", gif_claiming(65_535, 65_535)),
        ("bomb.bmp", bmp_claiming(60_000, 60_000)),
        ("bomb.tif", tiff_claiming(100_000, 100_000)),
        ("bomb.webp", webp_claiming(16_384, 16_384)),
        ("bomb.jpg", jpeg_claiming(65_535, 65_535)),
    ] {
        case(
            write(folder, format!("bombs/{name}"), &bytes),
            "decompression bomb",
            Expect::Skipped(TOO_BIG),
        );
    }

    for (name, tiff) in broken_exif() {
        let mut bytes = jpeg[..2].to_vec();
        let mut segment = b"Exif\0\0".to_vec();
        segment.extend_from_slice(&tiff);
        bytes.extend_from_slice(&[0xFF, 0xE1]);
        bytes.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
        bytes.extend_from_slice(&segment);
        bytes.extend_from_slice(&jpeg[2..]);
        case(
            write(folder, format!("exif/{name}.jpg"), &bytes),
            "broken EXIF",
            Expect::Indexed,
        );
    }
    // An APP1 segment whose length runs past the end of the file.
    let mut overlong = jpeg[..2].to_vec();
    overlong.extend_from_slice(&[0xFF, 0xE1, 0xFF, 0xFF]);
    overlong.extend_from_slice(b"Exif\0\0II*\0");
    case(
        write(folder, "exif/app1-past-the-end.jpg", &overlong),
        "broken EXIF",
        Expect::Skipped(&["truncated JPEG"]),
    );

    // Named like photos, but not files.
    std::fs::create_dir_all(folder.join("odd/folder.jpg")).expect("mkdir");
    case("odd/folder.jpg".into(), "not a file", Expect::Ignored);
    case(
        write(folder, "odd/folder.jpg/inside.png", png),
        "not a file",
        Expect::Indexed,
    );
    let fifo = folder.join("odd/pipe.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    case("odd/pipe.jpg".into(), "not a file", Expect::Ignored);

    // Links: loops, dangling, and out of the folder.
    std::fs::create_dir_all(folder.join("links/loop")).expect("mkdir");
    symlink("..", folder.join("links/loop/again")).expect("symlink");
    case(
        "links/loop/again".into(),
        "symbolic link",
        Expect::Skipped(&["symbolic link loop"]),
    );
    symlink("self.jpg", folder.join("links/self.jpg")).expect("symlink");
    case(
        "links/self.jpg".into(),
        "symbolic link",
        Expect::Skipped(&["unreadable"]),
    );
    symlink("nowhere.jpg", folder.join("links/dangling.jpg")).expect("symlink");
    case(
        "links/dangling.jpg".into(),
        "symbolic link",
        Expect::Skipped(&["unreadable"]),
    );
    write(outside, "secret.png", png);
    write(outside, "album/private.png", png);
    symlink(outside.join("secret.png"), folder.join("links/escape.png")).expect("symlink");
    case(
        "links/escape.png".into(),
        "symbolic link",
        Expect::Skipped(OUTSIDE),
    );
    symlink(outside.join("album"), folder.join("links/escape-folder")).expect("symlink");
    case(
        "links/escape-folder".into(),
        "symbolic link",
        Expect::Skipped(OUTSIDE),
    );
    symlink("/etc/passwd", folder.join("links/passwd.jpg")).expect("symlink");
    case(
        "links/passwd.jpg".into(),
        "symbolic link",
        Expect::Skipped(OUTSIDE),
    );
    symlink("/dev/zero", folder.join("links/zero.png")).expect("symlink");
    case(
        "links/zero.png".into(),
        "symbolic link",
        Expect::Skipped(OUTSIDE),
    );
    symlink("../variants/png_rgba.png", folder.join("links/alias.png")).expect("symlink");
    case("links/alias.png".into(), "symbolic link", Expect::Indexed);

    // Names: long, not UTF-8, deep, and full of shell and SQL syntax.
    let long = format!("{}.png", "ü".repeat(125));
    assert_eq!(long.len(), 254);
    case(
        write(folder, format!("names/{long}"), png),
        "odd name",
        Expect::Indexed,
    );
    let raw = Path::new("names").join(std::ffi::OsStr::from_bytes(b"latin1-caf\xe9-\xff\xfe.png"));
    case(write(folder, raw, png), "odd name", Expect::Indexed);
    let deep: PathBuf = (0..12)
        .map(|i| format!("{i:02}{}", "d".repeat(198)))
        .collect();
    case(
        write(folder, Path::new("names").join(deep).join("deep.png"), png),
        "odd name",
        Expect::Indexed,
    );
    for name in [
        "$(touch pwned) `id`; rm -rf ~ 'q' \"dq\".png",
        "'); DROP TABLE images; --.png",
        "new\nline\ttab.png",
        "-rf.png",
        "%2e%2e%2fetc%2fpasswd.png",
    ] {
        case(
            write(folder, format!("names/{name}"), png),
            "odd name",
            Expect::Indexed,
        );
    }

    if unreadable {
        let locked = write(folder, "locked/no-permission.png", png);
        std::fs::set_permissions(folder.join(&locked), std::fs::Permissions::from_mode(0o000))
            .expect("chmod");
        case(
            locked,
            "unreadable",
            Expect::Skipped(&["unreadable", "Permission denied"]),
        );
        write(folder, "locked/closed-folder/inside.png", png);
        std::fs::set_permissions(
            folder.join("locked/closed-folder"),
            std::fs::Permissions::from_mode(0o000),
        )
        .expect("chmod");
        case(
            "locked/closed-folder".into(),
            "unreadable",
            Expect::Skipped(&["Permission denied"]),
        );
    }
    cases
}

/// Give every generated folder its permissions back, so a temporary directory can be deleted.
pub fn unlock(folder: &Path) {
    let closed = folder.join("locked/closed-folder");
    if closed.exists() {
        let _ = std::fs::set_permissions(closed, std::fs::Permissions::from_mode(0o755));
    }
}

/// EXIF blocks (TIFF structures) that lie: offsets past the end, loops, absurd counts and values.
fn broken_exif() -> Vec<(&'static str, Vec<u8>)> {
    // One IFD at offset 8 with the given entries (tag, type, count, value) and next-IFD offset.
    fn ifd(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
        let mut out = b"II*\0".to_vec();
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for &(tag, kind, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&next.to_le_bytes());
        out
    }
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    let mut huge_count = b"II*\0".to_vec();
    huge_count.extend_from_slice(&8u32.to_le_bytes());
    huge_count.extend_from_slice(&0xFFFFu16.to_le_bytes());
    vec![
        (
            "ifd-offset-past-end",
            [&b"II*\0"[..], &0xFFFF_FF00u32.to_le_bytes()].concat(),
        ),
        ("entry-count-65535", huge_count),
        ("ifd-loops-to-itself", ifd(&[(0x0112, SHORT, 1, 6)], 8)),
        ("orientation-9", ifd(&[(0x0112, SHORT, 1, 9)], 0)),
        ("orientation-0", ifd(&[(0x0112, SHORT, 1, 0)], 0)),
        (
            "orientation-count-huge",
            ifd(&[(0x0112, SHORT, 0x4000_0000, 40)], 0),
        ),
        ("exif-ifd-points-back", ifd(&[(0x8769, LONG, 1, 8)], 0)),
        ("date-past-end", ifd(&[(0x9003, ASCII, 20, 0x7FFF_0000)], 0)),
        ("date-nonsense", {
            let mut t = ifd(&[(0x0132, ASCII, 20, 26)], 0);
            t.extend_from_slice(b"9999:99:99 99:99:99\0");
            t
        }),
        ("header-only", b"II*\0".to_vec()),
        (
            "big-endian-garbage",
            b"MM\0*\xff\xff\xff\xff\x00\x00garbage".to_vec(),
        ),
    ]
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `w × h` pixels (with no pixel data to back it): a few dozen bytes.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (
            &b"IHDR"[..],
            [&w.to_be_bytes()[..], &h.to_be_bytes()[..], &[8, 2, 0, 0, 0]].concat(),
        ),
        // A valid but empty zlib stream: the header parses, the pixels are missing.
        (
            b"IDAT",
            vec![0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ),
        (b"IEND", vec![]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let body = [kind, &data[..]].concat();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

fn gif_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]); // 2-colour global palette
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
    out
}

fn bmp_claiming(w: i32, h: i32) -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(54u32 + 16).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 24]);
    out.extend_from_slice(&[0; 16]);
    out
}

fn tiff_claiming(w: u32, h: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 8 + 2 + 9 * 12 + 4),
        (277, 3, 1),
        (278, 4, h),
        (279, 4, 16),
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&[0; 16]);
    out
}

fn webp_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut vp8x = vec![0u8; 4];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    // A lossless bitstream header of the same size, with no pixel data behind it.
    let bits = (w - 1) | ((h - 1) << 14);
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(&[0; 11]);
    let mut body = b"WEBPVP8X".to_vec();
    body.extend_from_slice(&(vp8x.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8x);
    body.extend_from_slice(b"VP8L");
    body.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8l);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // One quantisation table of ones.
    out.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    out.extend_from_slice(&[1; 64]);
    // Baseline frame, one component.
    out.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[1, 1, 0x11, 0]);
    // A DC Huffman table with one code, an AC table with one code.
    for class in [0x00, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0, 20, class, 1]);
        out.extend_from_slice(&[0; 15]);
        out.push(0);
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
    out.extend_from_slice(&[0; 32]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Files tried, indexed and skipped, per kind of hostility.
#[derive(Debug, Default)]
pub struct Tally(pub std::collections::BTreeMap<&'static str, [usize; 3]>);

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<22} {:>5} {:>8} {:>8}",
            "kind", "tried", "indexed", "skipped"
        )?;
        for (kind, [tried, indexed, skipped]) in &self.0 {
            writeln!(f, "{kind:<22} {tried:>5} {indexed:>8} {skipped:>8}")?;
        }
        Ok(())
    }
}

/// Check every case against the library's catalog; panics listing every mismatch.
pub fn verify(cases: &[Case], folder: &Path, outside: &Path, library: &Path) -> Tally {
    use clipstream_core::catalog::{Catalog, DATABASE};
    let folder = std::fs::canonicalize(folder).expect("folder");
    let outside = std::fs::canonicalize(outside).expect("outside");
    let catalog = Catalog::open(&library.join(DATABASE)).expect("catalog opens");
    let indexed: std::collections::HashSet<PathBuf> = catalog
        .all_images()
        .expect("images")
        .into_iter()
        .map(|r| r.path)
        .collect();
    let skipped: std::collections::HashMap<PathBuf, String> = catalog
        .skipped()
        .expect("skipped")
        .into_iter()
        .map(|s| (s.path, s.reason))
        .collect();
    let mut wrong = Vec::new();
    let mut tally = Tally::default();
    for c in cases {
        let path = folder.join(&c.path);
        let (is_indexed, reason) = (indexed.contains(&path), skipped.get(&path));
        let counts = tally.0.entry(c.kind).or_default();
        counts[0] += 1;
        counts[1] += usize::from(is_indexed);
        counts[2] += usize::from(reason.is_some());
        let ok = match &c.expect {
            Expect::Indexed => is_indexed && reason.is_none(),
            Expect::Skipped(why) => {
                !is_indexed && reason.is_some_and(|r| why.iter().any(|w| r.contains(w)))
            }
            Expect::Either => is_indexed != reason.is_some(),
            Expect::Ignored => !is_indexed && reason.is_none(),
        };
        if std::env::var_os("HOSTILE_VERBOSE").is_some() {
            eprintln!(
                "{:?} [{}] indexed {is_indexed} skipped {reason:?}",
                c.path, c.kind
            );
        }
        if !ok {
            wrong.push(format!(
                "{:?} ({}): expected {:?}, indexed {is_indexed}, skipped {reason:?}",
                c.path, c.kind, c.expect
            ));
        }
    }
    for (path, reason) in &skipped {
        if reason.trim().is_empty() || reason.contains("crashed") {
            wrong.push(format!("{}: reason {reason:?}", path.display()));
        }
    }
    for path in &indexed {
        if !path.starts_with(&folder) || path.starts_with(&outside) {
            wrong.push(format!(
                "{}: indexed from outside the folder",
                path.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}\n{tally}",
        wrong.len(),
        wrong.join("\n")
    );
    tally
}
