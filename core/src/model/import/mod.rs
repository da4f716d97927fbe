//! `clipstream model import`: a Hugging Face CLIP checkpoint folder (`config.json`,
//! `model.safetensors`, the tokenizer files) → a model folder with the contract of the Python
//! export (`models/clipstream_models/export.py`): the dynamic-length text graph, the hybrid INT8 text
//! graph, the vision graph (opset 14), `tokenizer.json` and `manifest.json`.
//!
//! Everything is written into a temporary folder beside the destination, checked by loading it
//! (hashes, both graphs in ONNX Runtime), and renamed into place only when complete: an error or a
//! kill leaves the previous model as it was.

mod checkpoint;
pub mod config;
mod graph;
mod quantize;
mod tokenizer;
mod towers;

#[allow(clippy::all, missing_docs)]
mod onnx {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use crate::model::encoders::{TextEncoder, VisionEncoder};
use crate::model::hub;
use crate::model::{MANIFEST, Model};
use crate::{Error, Result};

use checkpoint::Checkpoint;
use config::ClipConfig;

pub const TEXT_FP32: &str = "text_fp32.onnx";
pub const TEXT_HYBRID: &str = "text_hybrid_int8.onnx";
pub const VISION: &str = "vision.onnx";
pub const TOKENIZER: &str = "tokenizer.json";
const WEIGHTS: &str = "model.safetensors";

/// CLIP's image statistics (OpenAI's), used when a checkpoint has no `preprocessor_config.json`.
const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];

#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Recorded in the manifest; default: the config's `_name_or_path`, else the folder's name.
    pub model_id: Option<String>,
    /// Merged into the manifest (e.g. where `model get` downloaded it from).
    pub extra: Option<Value>,
    /// Threads for the check run of the new graphs.
    pub threads: usize,
}

#[derive(Debug)]
pub struct Imported {
    pub dir: PathBuf,
    pub model_id: String,
    pub embedding_dim: usize,
    /// Each written file and its size.
    pub files: Vec<(String, u64)>,
    pub seconds: f64,
}

/// Imports the checkpoint in `source` into `out` (replaced only once the new model is complete).
pub fn import(
    source: &Path,
    out: &Path,
    options: &Options,
    progress: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<Imported> {
    let started = Instant::now();
    // Each step starts only if not cancelled; a cancelled import leaves the previous model.
    let mut step = |what: &str| {
        if cancel.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        progress(what);
        Ok(())
    };
    let fail = |reason: String| Error::Import {
        path: source.to_path_buf(),
        reason,
    };
    let inputs = Inputs::read(source).map_err(fail)?;
    let cfg = &inputs.config;
    let model_id = options
        .model_id
        .clone()
        .or_else(|| inputs.name_or_path.clone())
        .unwrap_or_else(|| folder_name(source));

    if out.exists() && !out.join(MANIFEST).is_file() && !is_empty_dir(out) {
        return Err(Error::Import {
            path: out.to_path_buf(),
            reason: "the destination exists and is not a model folder; choose another --out".into(),
        });
    }
    let parent = out.parent().unwrap_or(Path::new("."));
    let name = folder_name(out);
    fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    remove_abandoned(parent, &name);
    let staging = parent.join(format!(".{name}.importing-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
    }
    fs::create_dir(&staging).map_err(|e| io(&staging, e))?;
    let written = (|| {
        write_model(source, &staging, &inputs, &model_id, options, &mut step)?;
        step("checking the new model in ONNX Runtime")?;
        check(&staging, cfg, options.threads)
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    replace_dir(&staging, out)?;
    let files = list_files(out)?;
    Ok(Imported {
        dir: out.to_path_buf(),
        model_id,
        embedding_dim: cfg.projection_dim,
        files,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What [`get`] is doing, for a progress display.
pub enum Step<'a> {
    /// The hub answered: this many bytes will be fetched from this commit.
    Planned(&'a hub::Plan),
    Download(&'a hub::Progress),
    Import(&'a str),
}

/// `model get`: downloads a checkpoint from the hub (resuming an earlier attempt at the same
/// commit), imports it into `out`, and removes the download once the model is in place.
pub fn get(
    request: &hub::Request,
    out: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Step),
    cancel: &AtomicBool,
) -> Result<Imported> {
    let plan = hub::plan(request)?;
    progress(Step::Planned(&plan));
    let downloads = download_dir(&request.repo, &plan.commit)?;
    hub::download(
        &plan,
        request,
        &downloads,
        &mut |p| progress(Step::Download(p)),
        cancel,
    )?;
    let mut options = options.clone();
    options.model_id.get_or_insert_with(|| request.repo.clone());
    options.extra = Some(json!({
        "source": {
            "hub": request.endpoint,
            "repository": request.repo,
            "revision": request.revision,
            "commit": plan.commit,
        }
    }));
    let imported = import(
        &downloads,
        out,
        &options,
        &mut |step| progress(Step::Import(step)),
        cancel,
    )?;
    let _ = fs::remove_dir_all(&downloads);
    Ok(imported)
}

/// Where `get` keeps a checkpoint while it downloads: `$XDG_CACHE_HOME/clipstream/downloads/`,
/// one folder per repository and commit, so an interrupted download resumes only the same files.
fn download_dir(repo: &str, commit: &str) -> Result<PathBuf> {
    let base = dirs::cache_dir()
        .or_else(dirs::data_dir)
        .ok_or_else(|| Error::Internal("no cache or data folder for the download".into()))?;
    Ok(base
        .join("clipstream")
        .join("downloads")
        .join(repo.replace('/', "--"))
        .join(commit))
}

/// What the checkpoint folder holds, read and checked before anything is written.
struct Inputs {
    config: ClipConfig,
    name_or_path: Option<String>,
    checkpoint: Checkpoint,
    vocabulary: tokenizer::Vocabulary,
    preprocess: Value,
}

impl Inputs {
    fn read(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err("no such folder".into());
        }
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(
                "config.json is missing (a Hugging Face CLIP folder has config.json, \
                        model.safetensors and the tokenizer files)"
                    .into(),
            );
        }
        let text = fs::read_to_string(&config_path).map_err(|e| format!("config.json: {e}"))?;
        let config = config::parse(&text)?;
        let name_or_path = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["_name_or_path"].as_str().map(str::to_string))
            .filter(|s| !s.is_empty() && !s.starts_with('/'));

        let weights = dir.join(WEIGHTS);
        if !weights.is_file() {
            if dir.join("pytorch_model.bin").is_file() {
                return Err("it has only pytorch_model.bin (PyTorch pickle weights, which can run \
                            code when loaded, so ClipStream does not read them). Get \
                            model.safetensors: many hub repositories have it on their \"refs/pr\" \
                            branches, or convert with `python -c \"import torch, safetensors.torch as s; \
                            s.save_file(torch.load('pytorch_model.bin'), 'model.safetensors')\"`"
                    .into());
            }
            if dir.join("model.safetensors.index.json").is_file() {
                return Err("its weights are split into several safetensors files; \
                            ClipStream imports a single model.safetensors"
                    .into());
            }
            return Err("model.safetensors is missing".into());
        }
        let checkpoint =
            Checkpoint::open(&weights).map_err(|e| format!("model.safetensors: {e}"))?;
        check_layout(&checkpoint)?;
        let vocabulary = tokenizer::read(dir)?;
        if vocabulary.tokens.len() != config.text.vocab_size {
            return Err(format!(
                "the tokenizer has {} tokens but config.json says vocab_size {}",
                vocabulary.tokens.len(),
                config.text.vocab_size
            ));
        }
        let preprocess = preprocessing(dir, config.vision.image_size)?;
        Ok(Self {
            config,
            name_or_path,
            checkpoint,
            vocabulary,
            preprocess,
        })
    }
}

/// Refuses checkpoints whose tensor names are not transformers' CLIPModel, naming what they are.
fn check_layout(ck: &Checkpoint) -> Result<(), String> {
    if ck.has("vision_model.embeddings.patch_embedding.weight")
        && ck.has("text_model.embeddings.token_embedding.weight")
    {
        return Ok(());
    }
    if ck
        .names()
        .any(|n| n.contains("visual.layer1") || n.contains("attnpool"))
    {
        return Err(
            "its vision tower is a ResNet (an RN50-style CLIP); ClipStream imports \
                    ViT CLIPs, e.g. openai/clip-vit-base-patch32"
                .into(),
        );
    }
    let mut sample: Vec<&str> = ck.names().take(3).collect();
    sample.sort_unstable();
    Err(format!(
        "model.safetensors does not hold a transformers CLIPModel (no text_model./vision_model. \
         tensors; it has e.g. {sample:?}). open_clip checkpoints need converting to the \
         transformers layout first"
    ))
}

/// The manifest's `preprocess` from `preprocessor_config.json` (CLIP's defaults without one).
fn preprocessing(dir: &Path, image_size: usize) -> Result<Value, String> {
    let path = dir.join("preprocessor_config.json");
    let p: Value = if path.is_file() {
        let text =
            fs::read_to_string(&path).map_err(|e| format!("preprocessor_config.json: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("preprocessor_config.json: {e}"))?
    } else {
        json!({})
    };
    // transformers writes sizes as a number (older files) or as {"shortest_edge"} / {"height", "width"}.
    let edge = match &p["size"] {
        Value::Number(n) => n.as_u64(),
        v => v["shortest_edge"].as_u64(),
    }
    .unwrap_or(image_size as u64);
    let crop = match &p["crop_size"] {
        Value::Number(n) => n.as_u64().map(|s| [s, s]),
        v => v["height"]
            .as_u64()
            .zip(v["width"].as_u64())
            .map(|(h, w)| [h, w]),
    }
    .unwrap_or([image_size as u64; 2]);
    if crop != [image_size as u64; 2] {
        return Err(format!(
            "preprocessor_config.json crops to {crop:?} but the vision tower takes {image_size}×{image_size}"
        ));
    }
    if let Some(r) = p["resample"].as_u64()
        && r != 3
    {
        return Err(format!(
            "preprocessor_config.json resamples with PIL filter {r}; ClipStream resizes as CLIP does, bicubic (3)"
        ));
    }
    let triple = |key: &str, default: [f64; 3]| -> Result<Value, String> {
        match &p[key] {
            Value::Null => Ok(json!(default)),
            Value::Array(a) if a.len() == 3 && a.iter().all(Value::is_number) => Ok(json!(a)),
            other => Err(format!(
                "preprocessor_config.json {key}: {other} is not three numbers"
            )),
        }
    };
    Ok(json!({
        "reference": "transformers CLIPImageProcessor",
        "resize_shortest_edge": edge,
        "resample": "bicubic",
        "center_crop": crop,
        "rescale_factor": p["rescale_factor"].as_f64().unwrap_or(1.0 / 255.0),
        "mean": triple("image_mean", CLIP_MEAN)?,
        "std": triple("image_std", CLIP_STD)?,
        "layout": "NCHW, RGB",
    }))
}

fn write_model(
    source: &Path,
    dir: &Path,
    inputs: &Inputs,
    model_id: &str,
    options: &Options,
    progress: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<()> {
    let fail = |reason: String| Error::Import {
        path: source.to_path_buf(),
        reason,
    };
    let (cfg, ck) = (&inputs.config, &inputs.checkpoint);
    let version = env!("CARGO_PKG_VERSION");

    progress("writing the tokenizer")?;
    let tok = tokenizer::build(&inputs.vocabulary).map_err(fail)?;
    let path = dir.join(TOKENIZER);
    tok.save(&path, false).map_err(|e| io(&path, e))?;

    progress("building the text tower (FP32)")?;
    let text = towers::text(ck, cfg, false).map_err(fail)?;
    write_file(&dir.join(TEXT_FP32), &text.encode(version))?;
    progress("building the hybrid text tower (8-bit token embedding)")?;
    let hybrid = towers::text(ck, cfg, true).map_err(fail)?;
    write_file(&dir.join(TEXT_HYBRID), &hybrid.encode(version))?;
    progress("building the vision tower")?;
    let vision = towers::vision(ck, cfg).map_err(fail)?;
    write_file(&dir.join(VISION), &vision.encode(version))?;

    progress("writing manifest.json")?;
    let mut files = serde_json::Map::new();
    for name in [TEXT_FP32, TEXT_HYBRID, TOKENIZER, VISION] {
        let path = dir.join(name);
        let bytes = fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        files.insert(
            name.into(),
            json!({"sha256": crate::model::sha256_file(&path).map_err(|e| io(&path, e))?, "bytes": bytes}),
        );
    }
    let vocab = &inputs.vocabulary;
    let mut manifest = json!({
        "format": 1,
        "model_id": model_id,
        "embedding_dim": cfg.projection_dim,
        "context_length": cfg.text.context_length,
        "text": {
            "file": TEXT_HYBRID,
            "input": towers::TEXT_INPUT,
            "output": towers::TEXT_OUTPUT,
            "input_dtype": "int64",
            "dynamic_sequence": true,
            "normalized": false,
        },
        "tokenizer": {
            "file": TOKENIZER,
            "start_of_text_id": vocab.id(tokenizer::START_OF_TEXT),
            "end_of_text_id": vocab.id(tokenizer::END_OF_TEXT),
            "pad_id": 0,
            "vocab_size": cfg.text.vocab_size,
        },
        "vision": {
            "file": VISION,
            "input": towers::VISION_INPUT,
            "output": towers::VISION_OUTPUT,
            "image_size": cfg.vision.image_size,
            "normalized": false,
            "preprocess": inputs.preprocess,
        },
        "files": files,
        "tools": {
            "clipstream": version,
            "importer": "clipstream model import",
            "opset": graph::OPSET,
        },
    });
    if let (Some(Value::Object(extra)), Some(m)) = (&options.extra, manifest.as_object_mut()) {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&dir.join(MANIFEST), format!("{text}\n").as_bytes())
}

/// Loads the new folder as the app would (hashes, ONNX Runtime sessions) and runs both towers once.
fn check(dir: &Path, cfg: &ClipConfig, threads: usize) -> Result<()> {
    let model = Model::open(dir)?;
    let threads = threads.max(1);
    let bad = |what: &str, got: &[f32]| Error::Import {
        path: dir.to_path_buf(),
        reason: format!(
            "the new {what} graph returned {} values (want {} finite ones)",
            got.len(),
            cfg.projection_dim
        ),
    };
    let text = TextEncoder::new(&model, threads)?.encode("a photo of a dog on a beach")?;
    if text.len() != cfg.projection_dim || !text.iter().all(|v| v.is_finite()) {
        return Err(bad("text", &text));
    }
    let size = cfg.vision.image_size;
    let vision = VisionEncoder::new(&model, threads)?;
    let grey = vec![0.0f32; 3 * size * size];
    let image = vision.encode_batch(&[grey])?;
    let image = image.first().map(Vec::as_slice).unwrap_or(&[]);
    if image.len() != cfg.projection_dim || !image.iter().all(|v| v.is_finite()) {
        return Err(bad("vision", image));
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = fs::File::create(path).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    written.map_err(|e| match e.raw_os_error() {
        Some(libc::ENOSPC) => Error::DiskFull {
            path: path.to_path_buf(),
            reason: format!(
                "{e}; the model needs about {} MB more",
                bytes.len() / 1_000_000 + 1
            ),
        },
        _ => io(path, e),
    })
}

/// Moves `staging` to `out`; a previous model at `out` is removed only after the move.
fn replace_dir(staging: &Path, out: &Path) -> Result<()> {
    let previous = out.with_file_name(format!(
        ".{}.previous-{}",
        folder_name(out),
        std::process::id()
    ));
    let had_previous = out.exists();
    if had_previous {
        fs::rename(out, &previous).map_err(|e| io(out, e))?;
    }
    if let Err(e) = fs::rename(staging, out) {
        if had_previous {
            let _ = fs::rename(&previous, out);
        }
        let _ = fs::remove_dir_all(staging);
        return Err(io(out, e));
    }
    if had_previous {
        let _ = fs::remove_dir_all(&previous);
    }
    if let Some(parent) = out.parent()
        && let Ok(d) = fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes what an import killed mid-way left beside `out` (`.NAME.importing-PID` and
/// `.NAME.previous-PID` of processes no longer running).
fn remove_abandoned(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let pid = [".importing-", ".previous-"].iter().find_map(|kind| {
            file.strip_prefix(&format!(".{name}{kind}"))
                .and_then(|pid| pid.parse::<u32>().ok())
        });
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn list_files(dir: &Path) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let len = entry.metadata().map_err(|e| io(&entry.path(), e))?.len();
        out.push((entry.file_name().to_string_lossy().into_owned(), len));
    }
    out.sort();
    Ok(out)
}

fn folder_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

fn is_empty_dir(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
