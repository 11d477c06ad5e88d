//! Output files of the commands: never over an input or a run folder's files, never over
//! an existing file without `--force`, and written atomically.
//!
//! Paths are compared after resolving links and `..` (`canonicalize`; for an output that
//! does not exist yet, its folder is resolved and the name appended), so `./in.csv`,
//! `sub/../in.csv` and a symbolic link to the input are all recognised as the input.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The path `p` resolved: `canonicalize` when it exists, else its resolved folder joined
/// with its name. `None` when its folder does not exist either.
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let name = p.file_name()?;
    let dir = match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

/// Refuses `output` when it is the file `input`, lies inside the run folder `run`, is a
/// folder, has no existing folder, or exists and `force` is false.
pub fn check_output(output: &Path, input: &Path, run: &Path, force: bool) -> Result<()> {
    let out = resolved(output).ok_or_else(|| {
        io_err(
            output,
            "its folder does not exist; create it or choose another --output",
        )
    })?;
    if let Ok(inp) = input.canonicalize() {
        if inp == out {
            return Err(io_err(
                output,
                format!(
                    "is the input file `{}`; writing the scores there would destroy it — choose another --output",
                    input.display()
                ),
            ));
        }
    }
    if let Ok(run_dir) = run.canonicalize() {
        if out.starts_with(&run_dir) {
            return Err(io_err(
                output,
                format!(
                    "is inside the run folder `{}`, whose files (model.safetensors, config.toml, ...) belong to the run; write the output elsewhere",
                    run.display()
                ),
            ));
        }
    }
    match std::fs::symlink_metadata(output) {
        Ok(m) if m.is_dir() => Err(io_err(output, "is a folder; give a file name for --output")),
        Ok(_) if !force => Err(io_err(
            output,
            "exists; pass --force to replace it, or choose another --output",
        )),
        _ => Ok(()),
    }
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a temporary file in the same folder
/// (`<name>.tmp-<pid>-<n>`), flushed to disk, then renamed over `path`. On error the
/// target is untouched and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    name.push(format!(".tmp-{}-{seq}", std::process::id()));
    let tmp = path.with_file_name(name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, format!("cannot create the temporary output: {e}")))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| io_err(&tmp, format!("cannot write the output: {e}")))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            io_err(
                path,
                format!("cannot move the finished output into place: {e}"),
            )
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An output written in pieces and moved into place at the end, as [`write_atomic`]
/// does for one piece: a temporary file in the same folder, `sync_all`, rename. Dropped
/// without [`AtomicWriter::commit`] (an error on the way), the temporary file is
/// removed and `path` is untouched.
pub struct AtomicWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicWriter {
    /// Creates the temporary file beside `path`.
    pub fn create(path: &Path) -> Result<AtomicWriter> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        name.push(format!(".tmp-{}-{seq}", std::process::id()));
        let tmp = path.with_file_name(name);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, format!("cannot create the temporary output: {e}")))?;
        Ok(AtomicWriter {
            path: path.to_path_buf(),
            file: Some(std::io::BufWriter::with_capacity(1 << 20, f)),
            tmp,
        })
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("AtomicWriter used after commit");
        f.write_all(bytes)
            .map_err(|e| io_err(&self.tmp, format!("cannot write the output: {e}")))
    }

    /// Flushes, syncs and renames the temporary file to `path`.
    pub fn commit(mut self) -> Result<()> {
        let f = self.file.take().expect("AtomicWriter committed twice");
        let f = f
            .into_inner()
            .map_err(|e| io_err(&self.tmp, format!("cannot write the output: {}", e.error())))?;
        f.sync_all()
            .map_err(|e| io_err(&self.tmp, format!("cannot write the output: {e}")))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            io_err(
                &self.path,
                format!("cannot move the finished output into place: {e}"),
            )
        })?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
