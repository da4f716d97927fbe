//! The words in a photo: PaddleOCR's PP-OCR models (text detection, the 0/180° line classifier,
//! recognition of Chinese and English) run by ONNX Runtime, on the upright image the indexer
//! decodes (so a photo turned by its EXIF orientation reads the right way up).
//!
//! - [`detect`]: where the lines are (DB post-processing of the detector's probability map).
//! - [`recognize`]: each line cut out straight, turned over if upside down, and read (CTC).
//!
//! The models are found with no configuration, as ONNX Runtime is: `$CLIPSTREAM_OCR`, the
//! installed package's `lib/clipstream/ocr/`, then the data folder's `clipstream/ocr/`
//! (`make setup` puts PP-OCRv4 mobile there, from the rapidocr-onnxruntime wheel). Any PP-OCR
//! version's files work the same way: a `*det*.onnx`, a `*rec*.onnx` whose ONNX metadata holds its
//! dictionary (`character`), and optionally a `*cls*.onnx`.

pub mod detect;
pub mod recognize;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;

use crate::ingest::decode;
use crate::model::{installed, runtime};
use crate::store::catalog::TextLine;
use crate::{Error, Result};

use detect::{DetectSettings, Quad};
use recognize::{CLS_BATCH, CLS_SHAPE, CLS_THRESH, REC_BATCH, REC_SHAPE};

/// One line of text found in a photo.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Line {
    /// Its box in the upright image: top-left, top-right, bottom-right, bottom-left.
    pub quad: Quad,
    pub text: String,
    /// The recogniser's mean confidence over the line's characters.
    pub score: f32,
}

/// How hard to look (see [`Reader::read`]).
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// The detector's input: short side at least this (scaled up), long side at most `max_side`.
    pub min_side: u32,
    pub max_side: u32,
    /// Lines whose recognition scores below this are dropped.
    pub text_score: f32,
    /// At most this many lines are recognised (the most confident boxes first).
    pub max_lines: usize,
    /// When non-zero, a first look with the detector at this long side: a photo where it finds
    /// no line is done (most photos have no text), the others are detected again at `max_side`.
    pub gate_side: u32,
}

impl Effort {
    /// The reference pipeline's own settings (RapidOCR's `config.yaml`): what parity is measured
    /// against. Costly on large photos: the detector sees up to 2000 px.
    pub const REFERENCE: Effort = Effort {
        min_side: 736,
        max_side: 2000,
        text_score: 0.5,
        max_lines: 1000,
        gate_side: 0,
    };

    /// What indexing uses, chosen on the OCR corpus (models/ocr/README.md): detection at up to
    /// 960 px after a glance at [`GLANCE`] px, lines cut from the photo at [`Self::PRODUCT_FIT`].
    pub const PRODUCT: Effort = Effort {
        min_side: 32,
        max_side: 960,
        text_score: 0.5,
        max_lines: 200,
        gate_side: GLANCE,
    };

    /// Indexing reads each photo decoded upright to fit this many pixels: lines are cut out of
    /// it, sharper than the detector's input.
    pub const PRODUCT_FIT: u32 = 2048;
}

/// The long side of the first look for text: a photo in which the detector finds no line at this
/// size is done. On the OCR corpus, 480 px kept every word the full read finds (recall 0.953
/// either way) and stopped every false line on the photos without text; 400 px lost a fifth of
/// the words.
pub const GLANCE: u32 = 480;

/// The three models, loaded once.
pub struct Reader {
    dir: PathBuf,
    pub(crate) det: Mutex<Session>,
    cls: Option<Mutex<Session>>,
    rec: Mutex<Session>,
    /// The recogniser's characters: class `i` is `dictionary[i - 1]` (class 0 is CTC's blank).
    dictionary: Vec<String>,
    settings: DetectSettings,
}

/// Where OCR models are looked for, in order.
pub fn locations() -> Vec<PathBuf> {
    let mut out = Vec::new();
    out.extend(std::env::var_os("CLIPSTREAM_OCR").filter(|v| !v.is_empty()).map(PathBuf::from));
    out.extend(installed::lib_dir().map(|dir| dir.join("ocr")));
    out.extend(dirs::data_dir().map(|d| d.join("clipstream").join("ocr")));
    out
}

/// The first of [`locations`] that holds a detector and a recogniser.
pub fn locate() -> Option<PathBuf> {
    locations()
        .into_iter()
        .find(|dir| find_model(dir, "det").is_some() && find_model(dir, "rec").is_some())
}

/// The detector's and recogniser's file names in `dir`, as the catalog records what read a
/// photo: "ch_PP-OCRv4_det_infer + ch_PP-OCRv4_rec_infer".
pub fn reader_name(dir: &Path) -> String {
    let stem = |role| {
        find_model(dir, role)
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
            .unwrap_or_default()
    };
    format!("{} + {}", stem("det"), stem("rec"))
}

/// The `*{role}*.onnx` file in `dir`, the first by name if there are several.
fn find_model(dir: &Path, role: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "onnx")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().to_lowercase().contains(role))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The OCR models keep ONNX Runtime's memory arena: their inputs change size with each image.
fn session(path: &Path, threads: usize) -> Result<Mutex<Session>> {
    runtime::session(path, threads, true)
}

/// Run a one-input, one-output model on `data` shaped `shape`: the output's shape and values.
pub(crate) fn run(
    session: &Mutex<Session>,
    path: &Path,
    shape: [usize; 4],
    data: Vec<f32>,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let fail = |e: ort::Error| Error::Inference {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let tensor = Tensor::from_array((shape, data)).map_err(fail)?;
    let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
    let input = session.inputs()[0].name().to_string();
    let outputs = session.run(ort::inputs![input => tensor]).map_err(fail)?;
    let (out_shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(fail)?;
    let out_shape = out_shape.iter().map(|&d| d.max(0) as usize).collect();
    Ok((out_shape, values.to_vec()))
}

impl Reader {
    /// Load the models in `dir` (see the module doc), each run on `threads` threads.
    pub fn open(dir: &Path, threads: usize) -> Result<Self> {
        let missing = |role: &str| Error::ModelMissing {
            dir: dir.join(format!("*{role}*.onnx")),
        };
        let det_path = find_model(dir, "det").ok_or_else(|| missing("det"))?;
        let rec_path = find_model(dir, "rec").ok_or_else(|| missing("rec"))?;
        let rec = session(&rec_path, threads)?;
        let dictionary = {
            let session = rec.lock().unwrap_or_else(|p| p.into_inner());
            let characters = session
                .metadata()
                .ok()
                .and_then(|m| m.custom("character"))
                .ok_or_else(|| Error::Manifest {
                    path: rec_path.clone(),
                    reason: "no dictionary in the model's metadata (key `character`)".into(),
                })?;
            let mut dictionary: Vec<String> = characters.lines().map(str::to_string).collect();
            // PP-OCR's recognisers read spaces too: the last class.
            dictionary.push(" ".into());
            dictionary
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            det: session(&det_path, threads)?,
            cls: find_model(dir, "cls")
                .map(|p| session(&p, threads))
                .transpose()?,
            rec,
            dictionary,
            settings: DetectSettings::default(),
        })
    }

    /// What read the words, as the catalog records it: see [`reader_name`].
    pub fn name(&self) -> String {
        reader_name(&self.dir)
    }

    /// The folder the models were loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn model_path(&self, role: &str) -> PathBuf {
        find_model(&self.dir, role).unwrap_or_else(|| self.dir.clone())
    }

    /// The text lines in `image` (upright), in reading order, as hard as `effort` says.
    pub fn read(&self, image: &RgbImage, effort: &Effort) -> Result<Vec<Line>> {
        if effort.gate_side > 0 && !self.has_text(image, effort.gate_side)? {
            return Ok(Vec::new());
        }
        let boxes = self.detect(image, effort)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        // The most confident boxes when there are too many, read in reading order.
        let mut chosen: Vec<usize> = (0..boxes.len()).collect();
        if chosen.len() > effort.max_lines {
            chosen.sort_by(|&a, &b| boxes[b].1.total_cmp(&boxes[a].1));
            chosen.truncate(effort.max_lines);
            chosen.sort_unstable();
        }
        let mut lines: Vec<(Quad, RgbImage)> = chosen
            .into_iter()
            .filter_map(|i| recognize::crop(image, &boxes[i].0).map(|c| (boxes[i].0, c)))
            .collect();
        self.turn_upside_down_lines(&mut lines)?;
        let texts = self.recognize(&lines)?;
        Ok(lines
            .into_iter()
            .zip(texts)
            .filter(|(_, (text, score))| *score >= effort.text_score && !text.trim().is_empty())
            .map(|((quad, _), (text, score))| Line { quad, text, score })
            .collect())
    }

    /// Whether the detector finds any line in `image` scaled to fit `side` px: the cheap first
    /// look that most photos (no text) stop at.
    pub fn has_text(&self, image: &RgbImage, side: u32) -> Result<bool> {
        let glance = Effort {
            min_side: 32,
            max_side: side,
            ..Effort::PRODUCT
        };
        Ok(!self.detect(image, &glance)?.is_empty())
    }

    /// The boxes of the text lines in `image`, with their detection scores.
    pub fn detect(&self, image: &RgbImage, effort: &Effort) -> Result<Vec<(Quad, f32)>> {
        let (w, h) = image.dimensions();
        let (iw, ih) = detect::input_size(w, h, effort.min_side, effort.max_side);
        let input = image::imageops::resize(image, iw, ih, image::imageops::FilterType::Triangle);
        let (shape, map) = run(
            &self.det,
            &self.model_path("det"),
            [1, 3, ih as usize, iw as usize],
            detect::tensor(&input),
        )?;
        let (mh, mw) = (shape[shape.len() - 2] as u32, shape[shape.len() - 1] as u32);
        Ok(detect::boxes(&map, (mw, mh), (w, h), &self.settings))
    }

    /// The line classifier: lines it is sure are upside down are turned over (180°).
    fn turn_upside_down_lines(&self, lines: &mut [(Quad, RgbImage)]) -> Result<()> {
        let Some(cls) = &self.cls else {
            return Ok(());
        };
        let (h, w) = CLS_SHAPE;
        let order = by_aspect(lines);
        for batch in order.chunks(CLS_BATCH) {
            let data: Vec<f32> = batch
                .iter()
                .flat_map(|&i| recognize::normalized(&lines[i].1, (h, w)))
                .collect();
            let (shape, probs) = run(
                cls,
                &self.model_path("cls"),
                [batch.len(), 3, h as usize, w as usize],
                data,
            )?;
            let labels = shape.last().copied().unwrap_or(2).max(1);
            for (&i, p) in batch.iter().zip(probs.chunks_exact(labels)) {
                // Labels: 0°, 180°.
                if p.len() > 1 && p[1] > p[0] && p[1] > CLS_THRESH {
                    lines[i].1 = image::imageops::rotate180(&lines[i].1);
                }
            }
        }
        Ok(())
    }

    /// Each line's text and confidence, in the order given.
    fn recognize(&self, lines: &[(Quad, RgbImage)]) -> Result<Vec<(String, f32)>> {
        let mut out = vec![(String::new(), 0.0); lines.len()];
        let (h, base_w) = REC_SHAPE;
        for batch in by_aspect(lines).chunks(REC_BATCH) {
            // The batch's width fits its widest line (at least 320: the reference's alignment).
            let widest = batch
                .iter()
                .map(|&i| {
                    let (w, lh) = lines[i].1.dimensions();
                    w as f32 / lh as f32
                })
                .fold(base_w as f32 / h as f32, f32::max);
            let w = (h as f32 * widest) as u32;
            let data: Vec<f32> = batch
                .iter()
                .flat_map(|&i| recognize::normalized(&lines[i].1, (h, w)))
                .collect();
            let (shape, probs) = run(
                &self.rec,
                &self.model_path("rec"),
                [batch.len(), 3, h as usize, w as usize],
                data,
            )?;
            let (steps, classes) = (shape[1], shape[2]);
            for (&i, line) in batch.iter().zip(probs.chunks_exact(steps * classes)) {
                out[i] = recognize::ctc_decode(line, classes, &self.dictionary);
            }
        }
        Ok(out)
    }
}

/// Indexes of `lines` from the narrowest (width / height) to the widest: batches of similar lines
/// pad least (the reference sorts the same way).
fn by_aspect(lines: &[(Quad, RgbImage)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    let aspect = |i: usize| {
        let (w, h) = lines[i].1.dimensions();
        w as f32 / h as f32
    };
    order.sort_by(|&a, &b| aspect(a).total_cmp(&aspect(b)));
    order
}

/// The glance for text a photo's read starts from (see [`read_photo`]).
pub enum Glance {
    /// None yet: the photo is decoded at [`GLANCE`] px and looked at.
    Decode,
    /// The photo decoded at [`GLANCE`] px (the caller had it), not looked at yet.
    Decoded(RgbImage),
    /// Taken already, by the indexing run that added the photo, and it found text.
    FoundText,
}

/// The words of one photo as the reading stage reads them: a glance for text at [`GLANCE`] px
/// (skipped when the indexing run's glance found text already), and only when it finds some, a
/// decode at [`Effort::PRODUCT_FIT`] and the full read. Boxes as the catalog keeps them.
pub fn read_photo(
    reader: &Reader,
    bytes: &[u8],
    glance: Glance,
    max_pixels: u64,
) -> Result<std::result::Result<Vec<TextLine>, String>> {
    let glance = match glance {
        Glance::FoundText => None,
        Glance::Decoded(g) => Some(g),
        Glance::Decode => match decode::decode_to_fit(bytes, GLANCE, max_pixels) {
            Ok(g) => Some(g),
            Err(e) => return Ok(Err(e.0)),
        },
    };
    if let Some(glance) = glance
        && !reader.has_text(&glance, GLANCE)?
    {
        return Ok(Ok(Vec::new()));
    }
    let image = match decode::decode_to_fit(bytes, Effort::PRODUCT_FIT, max_pixels) {
        Ok(i) => i,
        Err(e) => return Ok(Err(e.0)),
    };
    let full = Effort {
        gate_side: 0,
        ..Effort::PRODUCT
    };
    let lines = reader.read(&image, &full)?;
    Ok(Ok(stored(&lines, image.dimensions())))
}

/// Lines as the catalog keeps them: boxes as fractions of the image's sides.
pub(crate) fn stored(lines: &[Line], (w, h): (u32, u32)) -> Vec<TextLine> {
    let (w, h) = (w.max(1) as f32, h.max(1) as f32);
    lines
        .iter()
        .map(|l| TextLine {
            text: l.text.clone(),
            quad: l.quad.map(|(x, y)| ((x / w).clamp(0.0, 1.0), (y / h).clamp(0.0, 1.0))),
            score: l.score,
        })
        .collect()
}

/// In a child process started by [`crate::ingest::probe::read_words_in_child`] (from the probe's
/// constructor): read the photo's words as a pass would. Whatever the reader answers, it
/// answered: only a death by signal convicts.
pub(crate) fn read_in_child(path: &Path, models: &Path, max_pixels: u64, max_file_bytes: u64) {
    let Ok(bytes) = decode::read_capped(path, max_file_bytes) else {
        return;
    };
    if let Ok(reader) = Reader::open(models, 1) {
        let _ = read_photo(&reader, &bytes, Glance::Decode, max_pixels);
    }
}
