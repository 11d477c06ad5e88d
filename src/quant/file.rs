//! `model.int8.safetensors`: the weights of a compressed run.
//!
//! ```text
//! <name>#int8   I8  (rows, cols)   dense weights `*.w` (scale per column) and tables (per row)
//! <name>#scale  F16 (cols,) for a dense weight (F32 in files of older versions, still
//!               read); F16 (rows,) for a table (a 16-wide row is 16 + 2 bytes instead of 64)
//! <name>        F32 (rows, cols)   everything else (biases, LayerNorm, balancer, 1-row weights)
//! ```
//! Metadata: `mtrec.kind` = `int8`, `mtrec.checksum` over all tensors (as in
//! `checkpoint::safetensors_io`), so a flipped bit is an error naming the file.

use crate::checkpoint::safetensors_io::checksum;
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One tensor of the file: int8 or f32 values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    I8(Vec<i8>),
    F32(Vec<f32>),
    /// IEEE half precision, as bits.
    F16(Vec<u16>),
}

impl Values {
    /// The values as f32 (F32 and F16; None for I8).
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self {
            Values::F32(v) => Some(v.clone()),
            Values::F16(v) => Some(v.iter().map(|&b| super::f16::to_f32(b)).collect()),
            Values::I8(_) => None,
        }
    }

    /// Bytes of the values in the file.
    pub fn byte_len(&self) -> usize {
        match self {
            Values::I8(v) => v.len(),
            Values::F32(v) => 4 * v.len(),
            Values::F16(v) => 2 * v.len(),
        }
    }
}

/// A named tensor with its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor8 {
    pub shape: Vec<usize>,
    pub values: Values,
}

impl Tensor8 {
    fn bytes(&self) -> Vec<u8> {
        match &self.values {
            Values::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Values::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

struct ByteView {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &ByteView {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Writes `tensors` to `path` (a temporary file renamed over it, so never half a file).
pub fn write(path: &Path, tensors: &BTreeMap<String, Tensor8>) -> Result<()> {
    let views: Vec<(String, ByteView)> = tensors
        .iter()
        .map(|(n, t)| {
            let dtype = match t.values {
                Values::I8(_) => Dtype::I8,
                Values::F32(_) => Dtype::F32,
                Values::F16(_) => Dtype::F16,
            };
            let v = ByteView {
                dtype,
                shape: t.shape.clone(),
                bytes: t.bytes(),
            };
            (n.clone(), v)
        })
        .collect();
    let sum = checksum(
        views
            .iter()
            .map(|(n, v)| (n.as_str(), v.shape.as_slice(), Cow::Borrowed(&v.bytes[..]))),
    );
    let meta: HashMap<String, String> = [
        ("mtrec.kind".to_string(), "int8".to_string()),
        ("mtrec.checksum".to_string(), format!("{sum:016x}")),
    ]
    .into();
    let bytes = safetensors::serialize(views.iter().map(|(n, v)| (n.as_str(), v)), &Some(meta))
        .map_err(|e| io_err(path, format!("cannot encode the int8 weights: {e}")))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, &bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(path, format!("cannot write: {e}"))
        })
}

/// Reads a file written by [`write`], checking its kind and checksum.
pub fn read(path: &Path) -> Result<BTreeMap<String, Tensor8>> {
    let bytes = std::fs::read(path).map_err(|e| {
        io_err(
            path,
            format!("{e}; a folder written by `mtrec compress --int8` holds this file"),
        )
    })?;
    let broken = |m: String| io_err(path, format!("{m}; run `mtrec compress` again"));
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| broken(format!("not a safetensors file ({e:?})")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    if meta.get("mtrec.kind").map(String::as_str) != Some("int8") {
        return Err(broken(
            "not an int8 model (metadata mtrec.kind is not `int8`)".into(),
        ));
    }
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| broken(format!("not a safetensors file ({e:?})")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values = match view.dtype() {
            Dtype::I8 => Values::I8(data.iter().map(|&b| b as i8).collect()),
            Dtype::F32 => Values::F32(
                data.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            Dtype::F16 => Values::F16(
                data.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            other => {
                return Err(broken(format!(
                    "tensor `{name}` has dtype {other:?}, not I8, F16 or F32"
                )))
            }
        };
        let t = Tensor8 {
            shape: view.shape().to_vec(),
            values,
        };
        out.insert(name, t);
    }
    let bytes_of: Vec<(String, Vec<usize>, Vec<u8>)> = out
        .iter()
        .map(|(n, t)| (n.clone(), t.shape.clone(), t.bytes()))
        .collect();
    let sum = checksum(
        bytes_of
            .iter()
            .map(|(n, s, b)| (n.as_str(), s.as_slice(), Cow::Borrowed(&b[..]))),
    );
    if meta.get("mtrec.checksum") != Some(&format!("{sum:016x}")) {
        return Err(broken(
            "the checksum does not match the tensors (the file is damaged)".into(),
        ));
    }
    Ok(out)
}
