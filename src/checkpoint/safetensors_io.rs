//! Named f32 tensors and string metadata in a `.safetensors` file, written atomically.
//!
//! The format (Hugging Face `safetensors`): 8 bytes little-endian header length n, n
//! bytes of JSON `{"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [a, b]}, ...,
//! "__metadata__": {"key": "value", ...}}`, then the raw little-endian tensor data. Any
//! `safetensors` reader (Python, Rust, C++) opens it; see `docs/checkpoint.md`.
//!
//! Writing never leaves a half file at the target: the bytes go to a temporary file in
//! the same folder (`<file>.tmp-<pid>-<n>`), are flushed to disk (`sync_all`), and the
//! temporary file is renamed over the target, which POSIX makes atomic. A crash leaves
//! the old file (or none) plus at most a stray temporary file, never a torn checkpoint.

use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A tensor to write: `data` is row-major with `shape.iter().product()` elements.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorOut<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: &'a [f32],
}

impl<'a> TensorOut<'a> {
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: &'a [f32]) -> TensorOut<'a> {
        TensorOut {
            name: name.into(),
            shape,
            data,
        }
    }
}

/// `safetensors`' view of one of our tensors; the bytes are made when the writer asks.
struct F32View<'a> {
    shape: &'a [usize],
    data: &'a [f32],
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Makes temporary names unique within the process as well as across processes.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// `<dir>/<file>.tmp-<pid>-<n>`: same folder as `path`, so the rename stays on one file
/// system and is atomic.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    name.push(format!(".tmp-{}-{seq}", std::process::id()));
    path.with_file_name(name)
}

/// Checks names, shapes and lengths before any byte is written.
fn check_out(path: &Path, tensors: &[TensorOut<'_>]) -> Result<()> {
    let mut seen = BTreeMap::new();
    for t in tensors {
        if seen.insert(t.name.as_str(), ()).is_some() {
            return Err(io_err(
                path,
                format!("tensor `{}` is given twice; names must be unique", t.name),
            ));
        }
        let n: usize = t.shape.iter().product();
        if n != t.data.len() {
            return Err(io_err(
                path,
                format!(
                    "tensor `{}` has shape {:?} ({n} values) but {} values were given",
                    t.name,
                    t.shape,
                    t.data.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Writes `tensors` (as F32) and `metadata` (as `__metadata__`) to `path` atomically,
/// creating its folder if needed. On error the target is untouched and no temporary
/// file is left behind.
pub fn write_safetensors(
    path: &Path,
    tensors: &[TensorOut<'_>],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    if path.file_name().is_none() {
        return Err(io_err(
            path,
            "is not a file path; give a name such as `model.safetensors`",
        ));
    }
    check_out(path, tensors)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .map_err(|e| io_err(dir, format!("cannot create the checkpoint folder: {e}")))?;
    }
    let tmp = temp_path(path);
    let result = write_then_rename(path, &tmp, tensors, metadata);
    if result.is_err() {
        let _ = fs::remove_file(&tmp); // best effort: it may never have been created
    }
    result
}

fn write_then_rename(
    path: &Path,
    tmp: &Path,
    tensors: &[TensorOut<'_>],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let views = tensors.iter().map(|t| {
        (
            t.name.as_str(),
            F32View {
                shape: &t.shape,
                data: t.data,
            },
        )
    });
    let meta: HashMap<String, String> = metadata.clone().into_iter().collect();
    safetensors::serialize_to_file(views, &Some(meta), tmp)
        .map_err(|e| io_err(tmp, format!("cannot write the checkpoint: {e}")))?;
    // serialize_to_file flushed its buffer; now make the bytes durable before the rename
    // publishes them.
    fs::OpenOptions::new()
        .write(true)
        .open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(tmp, format!("cannot flush the checkpoint to disk: {e}")))?;
    fs::rename(tmp, path).map_err(|e| {
        io_err(
            path,
            format!(
                "cannot replace it with the new checkpoint `{}`: {e}",
                tmp.display()
            ),
        )
    })?;
    // Make the rename itself durable (the folder entry); not possible on every platform.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// A tensor read back: shape and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorIn {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The contents of a `.safetensors` file: F32 tensors by name and the metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    path: PathBuf,
    tensors: BTreeMap<String, TensorIn>,
    metadata: BTreeMap<String, String>,
}

/// Reads every tensor of `path`; fails (naming the file and the tensor) on a file that is
/// not safetensors or holds a tensor whose dtype is not F32.
pub fn read_safetensors(path: &Path) -> Result<Checkpoint> {
    let bytes =
        fs::read(path).map_err(|e| io_err(path, format!("cannot read the checkpoint: {e}")))?;
    let (n, header) = SafeTensors::read_metadata(&bytes).map_err(|e| {
        io_err(
            path,
            format!("is not a valid safetensors file ({e}); was it truncated or written by another program?"),
        )
    })?;
    let body = &bytes[8 + n..]; // read_metadata checked that the offsets cover exactly this
    let mut tensors = BTreeMap::new();
    for (name, info) in header.tensors() {
        if info.dtype != Dtype::F32 {
            return Err(io_err(
                path,
                format!(
                    "tensor `{name}` has dtype {:?}; mtrec reads F32 only (convert it to float32 before loading)",
                    info.dtype
                ),
            ));
        }
        let (a, b) = info.data_offsets;
        let data = body[a..b]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(
            name,
            TensorIn {
                shape: info.shape.clone(),
                data,
            },
        );
    }
    let metadata = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Checkpoint {
        path: path.to_path_buf(),
        tensors,
        metadata,
    })
}

impl Checkpoint {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `__metadata__` of the file (empty when it had none).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Every tensor by name, in name order.
    pub fn tensors(&self) -> &BTreeMap<String, TensorIn> {
        &self.tensors
    }

    pub fn get(&self, name: &str) -> Option<&TensorIn> {
        self.tensors.get(name)
    }

    /// An [`Error::Io`] naming this file.
    pub fn error(&self, message: impl Into<String>) -> Error {
        io_err(&self.path, message)
    }

    /// The values of tensor `name`, which must exist and have `shape`.
    pub fn expect(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let t = self
            .get(name)
            .ok_or_else(|| self.error(format!("has no tensor `{name}`")))?;
        if t.shape != shape {
            return Err(self.error(format!(
                "tensor `{name}` has shape {:?} in the checkpoint but {shape:?} in the model; was it trained with another config?",
                t.shape
            )));
        }
        Ok(&t.data)
    }

    /// Metadata value `key`, which must exist.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| {
            self.error(format!(
                "has no metadata `{key}`; was it written by another program or an older mtrec?"
            ))
        })
    }

    /// Metadata value `key` parsed as `T` (`None` when the key is absent).
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| {
                self.error(format!(
                    "metadata `{key}` = {s:?} is not a valid {}",
                    std::any::type_name::<T>()
                ))
            }),
        }
    }
}
