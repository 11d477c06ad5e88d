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
//!
//! Reading checks what a later step would only notice as a wrong result: the path must be
//! a regular file (a folder, a FIFO or a device is refused before it is opened, so a FIFO
//! never blocks), the safetensors crate's error codes become sentences, every value must
//! be finite ("the checkpoint holds NaN/inf"), and the `mtrec.checksum` metadata key
//! written with every file (see [`checksum`]) must match the tensors' bytes, so a flipped
//! bit is an error naming the file. Files without the key (older mtrec, other programs)
//! still load.

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

/// Metadata key of the tensors' checksum: 16 lowercase hex digits of [`checksum`].
pub const META_CHECKSUM: &str = "mtrec.checksum";

/// FNV-1a's 64-bit offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Running 64-bit FNV-1a-style hash over 8-byte little-endian words:
/// `h ← (h ⊕ w) · p mod 2⁶⁴`. Each step is a bijection of `h` for a fixed word (`p` is
/// odd), so two inputs that differ in exactly one word always hash differently: any
/// single flipped bit or changed value of a tensor is detected.
struct Fnv64(u64);

impl Fnv64 {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(FNV_PRIME);
    }

    /// The bytes as little-endian words, the last one zero-padded, then the length.
    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
        self.word(b.len() as u64);
    }
}

/// The checksum stored as `mtrec.checksum`: over the tensors in name order, each as its
/// name's bytes, its shape (rank, then every dimension) and its little-endian data bytes
/// ([`Fnv64`]). `tensors` yields `(name, shape, data bytes)` in any order.
pub fn checksum<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize], Cow<'a, [u8]>)>,
) -> u64 {
    let mut sorted: Vec<_> = tensors.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Fnv64(FNV_OFFSET);
    for (name, shape, data) in sorted {
        h.bytes(name.as_bytes());
        h.word(shape.len() as u64);
        for &extent in shape {
            h.word(extent as u64);
        }
        h.bytes(&data);
    }
    h.0
}

/// `safetensors`' error codes as sentences that say what is wrong with the file.
pub(crate) fn explain(e: &safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    let cut = "the file is not a safetensors file or is cut off";
    match e {
        E::HeaderTooSmall => format!("{cut}: it is shorter than the 8-byte header length"),
        E::HeaderTooLarge | E::InvalidHeaderLength => {
            format!("{cut}: its first 8 bytes give a header length larger than the file (or over 100 MB)")
        }
        E::InvalidHeader
        | E::InvalidHeaderStart
        | E::InvalidHeaderDeserialization
        | E::JsonError(_) => {
            format!(
                "{cut}: its header is not the JSON table of tensors a safetensors file starts with"
            )
        }
        E::MetadataIncompleteBuffer => {
            format!(
                "{cut}: the tensors' data does not end where the file ends (truncated or extended)"
            )
        }
        E::TensorInvalidInfo
        | E::InvalidOffset(_)
        | E::ValidationOverflow
        | E::InvalidTensorView(..) => {
            format!("{cut}: a tensor's shape, type and byte offsets do not agree ({e:?})")
        }
        E::TensorNotFound(name) => format!("has no tensor `{name}`"),
        E::IoError(io) => format!("cannot be read: {io}"),
    }
}

/// Refuses, before opening it, a path that is not a regular file: missing, a folder, a
/// FIFO (opening one would block until a writer comes), a socket or a device.
pub fn check_regular_file(path: &Path, what: &str) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| {
        io_err(
            path,
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("the {what} does not exist; check the path")
            } else {
                format!("cannot read the {what}: {e}")
            },
        )
    })?;
    if meta.is_dir() {
        return Err(io_err(
            path,
            format!("is a folder, not a {what}; give the path of the .safetensors file inside it"),
        ));
    }
    if !meta.is_file() {
        return Err(io_err(
            path,
            format!("is not a regular file (a FIFO, socket or device); the {what} must be a regular file"),
        ));
    }
    Ok(())
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
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
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
    let mut meta: HashMap<String, String> = metadata.clone().into_iter().collect();
    let sum = checksum(tensors.iter().map(|t| {
        let bytes: Vec<u8> = t.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        (t.name.as_str(), t.shape.as_slice(), Cow::Owned(bytes))
    }));
    meta.insert(META_CHECKSUM.into(), format!("{sum:016x}"));
    let bytes = safetensors::serialize(views, &Some(meta))
        .map_err(|e| io_err(tmp, format!("cannot write the checkpoint: {e}")))?;
    let bytes = sorted_header(bytes).map_err(|e| io_err(tmp, e))?;
    // the bytes, made durable before the rename publishes them
    fs::File::create(tmp)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()
        })
        .map_err(|e| io_err(tmp, format!("cannot write the checkpoint: {e}")))?;
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
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = fs::File::open(dir).and_then(|dir| dir.sync_all());
    }
    Ok(())
}

/// The serialised file with its JSON header's keys in sorted order, the metadata's
/// too: the `safetensors` crate writes the metadata in hash-map order, which differs
/// from run to run, so the same weights would give different bytes. Readers find each
/// tensor by its `data_offsets`, which are relative to the data and do not change;
/// the header is padded with spaces to a multiple of 8 bytes, as the format asks.
fn sorted_header(bytes: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let bad = || "the serialised checkpoint has no valid header".to_string();
    let n = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(bad)?;
    let parsed: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| format!("{}: {e}", bad()))?;
    let sorted: BTreeMap<String, serde_json::Value> = parsed
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                // an object's keys sorted (serde_json's Map may keep insertion order)
                serde_json::Value::Object(m) => serde_json::to_value(
                    m.into_iter()
                        .collect::<BTreeMap<String, serde_json::Value>>(),
                )
                .unwrap_or(serde_json::Value::Null),
                v => v,
            };
            (k, v)
        })
        .collect();
    let mut text = serde_json::to_vec(&sorted).map_err(|e| format!("{}: {e}", bad()))?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
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

/// Reads every tensor of `path`; fails (naming the file and the tensor) on a path that is
/// not a regular file, a file that is not safetensors, a tensor whose dtype is not F32, a
/// NaN or infinite value, or a `mtrec.checksum` that does not match the data.
pub fn read_safetensors(path: &Path) -> Result<Checkpoint> {
    check_regular_file(path, "checkpoint")?;
    let bytes =
        fs::read(path).map_err(|e| io_err(path, format!("cannot read the checkpoint: {e}")))?;
    let (n, header) = SafeTensors::read_metadata(&bytes).map_err(|e| io_err(path, explain(&e)))?;
    let body = &bytes[8 + n..]; // read_metadata checked that the offsets cover exactly this
    let metadata: BTreeMap<String, String> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    if let Some(stored) = metadata.get(META_CHECKSUM) {
        let infos = header.tensors();
        let sum = checksum(infos.iter().map(|(name, info)| {
            let (a, b) = info.data_offsets;
            (
                name.as_str(),
                info.shape.as_slice(),
                Cow::Borrowed(&body[a..b]),
            )
        }));
        if format!("{sum:016x}") != stored.to_ascii_lowercase() {
            return Err(io_err(
                path,
                format!(
                    "the checkpoint is damaged: its tensors' checksum is {sum:016x} but its metadata `{META_CHECKSUM}` says {stored}; a byte of the file changed after it was written — restore it from a copy or retrain"
                ),
            ));
        }
    }
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
        let data: Vec<f32> = body[a..b]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(io_err(
                path,
                format!(
                    "the checkpoint holds NaN/inf: tensor `{name}` {:?} has {} at flat index {i}; the run that wrote it diverged or the file is damaged — use an earlier checkpoint or retrain (e.g. with a lower train.lr)",
                    info.shape, data[i]
                ),
            ));
        }
        tensors.insert(
            name,
            TensorIn {
                shape: info.shape.clone(),
                data,
            },
        );
    }
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
