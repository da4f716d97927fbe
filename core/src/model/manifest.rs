//! A model folder, as `clipstream model get`/`model import` write it (and the Python export,
//! its reference), described by its `manifest.json`. Every model constant the Rust side uses (names, sizes, mean/std, dimension,
//! context length, file hashes) is read from there, never written here a second time.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

pub const MANIFEST: &str = "manifest.json";

/// `manifest.json`, as written by `models/clipstream_models/export.py`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub model_id: String,
    pub embedding_dim: usize,
    pub context_length: usize,
    pub text: TextSpec,
    pub tokenizer: TokenizerSpec,
    pub vision: VisionSpec,
    pub files: BTreeMap<String, FileSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TextSpec {
    pub file: String,
    pub input: String,
    pub output: String,
    pub dynamic_sequence: bool,
    pub normalized: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenizerSpec {
    pub file: String,
    pub start_of_text_id: u32,
    pub end_of_text_id: u32,
    pub pad_id: u32,
    pub vocab_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VisionSpec {
    pub file: String,
    pub input: String,
    pub output: String,
    pub image_size: u32,
    pub normalized: bool,
    pub preprocess: Preprocess,
}

/// CLIP image preprocessing: shortest side → `resize_shortest_edge` (bicubic), centre crop,
/// scale by `rescale_factor`, then `(x - mean) / std` per RGB channel.
#[derive(Debug, Clone, Deserialize)]
pub struct Preprocess {
    pub resize_shortest_edge: u32,
    pub resample: String,
    pub center_crop: [u32; 2],
    pub rescale_factor: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileSpec {
    pub sha256: String,
    pub bytes: u64,
}

/// A model folder whose manifest has been read and whose files match it.
#[derive(Debug, Clone)]
pub struct Model {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Model {
    /// Read `dir/manifest.json` and check that the files the app uses exist with the listed size
    /// and SHA-256 (a truncated download or an edited graph is refused here, not at inference).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return Err(Error::ModelMissing { dir });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if manifest.format != 1 {
            let reason = format!(
                "format {} is not supported (this build reads format 1)",
                manifest.format
            );
            return Err(Error::Manifest { path, reason });
        }
        let model = Model { dir, manifest };
        let mut verified = VerifiedFiles::load();
        for name in [
            &model.manifest.text.file,
            &model.manifest.vision.file,
            &model.manifest.tokenizer.file,
        ] {
            model.verify_file(name, &mut verified)?;
        }
        verified.save();
        Ok(model)
    }

    /// The absolute path of one of the model's files.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn verify_file(&self, name: &str, verified: &mut VerifiedFiles) -> Result<()> {
        let path = self.file(name);
        let bad = |reason: String| Error::ModelFile {
            path: path.clone(),
            reason,
        };
        let spec = self
            .manifest
            .files
            .get(name)
            .ok_or_else(|| bad("not listed in manifest.json".into()))?;
        let meta = std::fs::metadata(&path).map_err(|e| bad(e.to_string()))?;
        if meta.len() != spec.bytes {
            return Err(bad(format!(
                "{} bytes, manifest says {}",
                meta.len(),
                spec.bytes
            )));
        }
        let fingerprint = Fingerprint::of(&meta, &spec.sha256);
        if verified.contains(&path, &fingerprint) {
            return Ok(());
        }
        let digest = sha256_file(&path).map_err(|e| bad(e.to_string()))?;
        if digest != spec.sha256 {
            return Err(bad(format!(
                "SHA-256 {digest}, manifest says {}",
                spec.sha256
            )));
        }
        verified.insert(&path, fingerprint);
        Ok(())
    }
}

/// What a verified file looked like: any write changes the change time (which, unlike the
/// modification time, cannot be set back), so a file that still matches need not be hashed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    bytes: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    sha256: String,
}

impl Fingerprint {
    fn of(meta: &std::fs::Metadata, sha256: &str) -> Self {
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (changed_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            (
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (changed_ns, inode) = (modified_ns, 0);
        Self {
            bytes: meta.len(),
            modified_ns,
            changed_ns,
            inode,
            sha256: sha256.to_string(),
        }
    }
}

/// Model files already hashed, kept in the user's cache folder: hashing the real model's ~530 MB
/// took ~1 s of every start-up.
#[derive(Default)]
struct VerifiedFiles {
    path: Option<PathBuf>,
    files: BTreeMap<String, Fingerprint>,
    changed: bool,
}

impl VerifiedFiles {
    fn load() -> Self {
        let path =
            dirs::cache_dir().map(|d| d.join("clipstream").join("verified-model-files.json"));
        let files = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            path,
            files,
            changed: false,
        }
    }

    fn key(path: &Path) -> String {
        std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned()
    }

    fn contains(&self, path: &Path, fingerprint: &Fingerprint) -> bool {
        self.files.get(&Self::key(path)) == Some(fingerprint)
    }

    fn insert(&mut self, path: &Path, fingerprint: Fingerprint) {
        self.files.insert(Self::key(path), fingerprint);
        self.changed = true;
    }

    /// Best effort: without the cache the next start hashes again, nothing worse. Entries of
    /// files that no longer exist (deleted models, test folders) are dropped.
    fn save(&mut self) {
        let Some(path) = self.path.clone().filter(|_| self.changed) else {
            return;
        };
        self.files.retain(|file, _| Path::new(file).exists());
        let Ok(json) = serde_json::to_vec_pretty(&self.files) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let partial = path.with_extension(format!("{}.partial", std::process::id()));
        if std::fs::write(&partial, json).is_ok() {
            let _ = std::fs::rename(&partial, &path);
        }
    }
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Where a model is looked for when none is given: `$CLIPSTREAM_MODEL`, then
/// `$XDG_DATA_HOME/clipstream/model` (default `~/.local/share/clipstream/model`), where the README
/// tells users to export the real CLIP.
pub fn default_locations() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os("CLIPSTREAM_MODEL") {
        out.push(PathBuf::from(dir));
    }
    out.extend(user_dir());
    out
}

/// The user's own model folder, `$XDG_DATA_HOME/clipstream/model`: where `model import` and
/// `model get` write, and the last place searched.
pub fn user_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("clipstream").join("model"))
}

/// The model folder to use: `explicit` if given, else the first default location with a manifest.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let candidates = default_locations();
    candidates
        .iter()
        .find(|d| d.join(MANIFEST).is_file())
        .cloned()
        .ok_or(Error::ModelNotFound { tried: candidates })
}
