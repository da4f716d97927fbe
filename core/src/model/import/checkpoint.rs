//! `model.safetensors`: its header is read once and checked against the file's length, then each
//! tensor is read from disk when a graph needs it, so the whole checkpoint is never in memory.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use safetensors::tensor::Metadata;

/// One tensor's place in the file.
#[derive(Debug, Clone)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: u64,
    end: u64,
}

pub struct Checkpoint {
    path: PathBuf,
    file: File,
    tensors: HashMap<String, Entry>,
}

/// A tensor widened to f32, with its shape.
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Checkpoint {
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut prefix = [0u8; 8];
        file.read_exact_at(&mut prefix, 0)
            .map_err(|_| format!("{len} bytes: too short for a safetensors file"))?;
        let header_len = u64::from_le_bytes(prefix);
        // The format caps the header at 100 MB; a larger value means this is not safetensors.
        if header_len > 100_000_000 || 8 + header_len > len {
            return Err(format!(
                "not a safetensors file, or truncated (header of {header_len} bytes in a file of {len})"
            ));
        }
        let mut head = vec![0u8; 8 + header_len as usize];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| format!("reading its header: {e}"))?;
        // Parsed through the crate's own `Metadata` (which checks the offsets are contiguous and fit
        // each shape); `SafeTensors::read_metadata` would want the whole file in memory.
        let metadata: Metadata = serde_json::from_slice(&head[8..])
            .map_err(|e| format!("its header is invalid: {e}"))?;
        let data_start = 8 + header_len;
        let mut tensors = HashMap::new();
        let mut data_end = 0u64;
        for (name, info) in metadata.tensors() {
            let (s, e) = info.data_offsets;
            data_end = data_end.max(e as u64);
            tensors.insert(
                name,
                Entry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    start: data_start + s as u64,
                    end: data_start + e as u64,
                },
            );
        }
        if data_start + data_end > len {
            return Err(format!(
                "truncated: its header describes {} bytes, the file has {len} (download it again)",
                data_start + data_end
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            tensors,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Reads `name` as f32 and checks its shape is `want`.
    pub fn read(&self, name: &str, want: &[usize]) -> Result<Tensor, String> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        if entry.shape != want {
            return Err(format!(
                "tensor {name} has shape {:?} but config.json implies {want:?}",
                entry.shape
            ));
        }
        let count: usize = want.iter().product();
        let width = match entry.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            other => {
                return Err(format!(
                    "tensor {name} is {other:?}; F32, F16 and BF16 are read"
                ));
            }
        };
        if (entry.end - entry.start) as usize != count * width {
            return Err(format!(
                "tensor {name}: its byte range does not fit its shape"
            ));
        }
        let mut bytes = vec![0u8; count * width];
        self.file
            .read_exact_at(&mut bytes, entry.start)
            .map_err(|e| format!("reading {name} from {}: {e}", self.path.display()))?;
        let data = match entry.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        };
        Ok(Tensor {
            shape: want.to_vec(),
            data,
        })
    }
}

impl Tensor {
    /// A `[rows, cols]` matrix as `[cols, rows]`: torch's Linear stores `[out, in]`, MatMul wants
    /// `x[.., in] @ W[in, out]`.
    pub fn transposed(&self) -> Tensor {
        let (rows, cols) = (self.shape[0], self.shape[1]);
        let mut data = vec![0f32; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                data[c * rows + r] = self.data[r * cols + c];
            }
        }
        Tensor {
            shape: vec![cols, rows],
            data,
        }
    }
}
