//! Writing the lists: CSV (`user,rank,item,score,<task>…`) or JSON lines, to a temporary
//! file next to the output that is renamed over it only when every list is written.

use super::recommender::Ranked;
use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

fn io(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The format from the extension (`.csv`, `.jsonl`). Where the file may be written is
/// checked by the command (`cli::output::check_output`: not over an input, not inside
/// the run folder, not over an existing file without `--force`).
pub fn output_format(out: &Path) -> Result<Format> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl") => Ok(Format::Jsonl),
        _ => Err(io(
            out,
            "unknown output format: name the file .csv or .jsonl",
        )),
    }
}

/// A list file being written; [`ListWriter::finish`] moves it into place.
pub struct ListWriter {
    tmp: PathBuf,
    out: PathBuf,
    w: Option<BufWriter<std::fs::File>>,
    format: Format,
    tasks: Vec<String>,
}

impl ListWriter {
    pub fn create(out: &Path, format: Format, tasks: &[String]) -> Result<ListWriter> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = out.with_file_name(format!(".{name}.tmp{}", std::process::id()));
        let f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e.to_string()))?;
        let mut w = ListWriter {
            tmp,
            out: out.to_path_buf(),
            w: Some(BufWriter::new(f)),
            format,
            tasks: tasks.to_vec(),
        };
        if format == Format::Csv {
            let head = format!("user,rank,item,score,{}\n", tasks.join(","));
            w.put(head.as_bytes())?;
        }
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        let tmp = self.tmp.clone();
        self.w
            .as_mut()
            .expect("open until finish")
            .write_all(b)
            .map_err(|e| io(&tmp, e.to_string()))
    }

    /// Writes one user's list; `ids[item]` is the item's id.
    pub fn write_list(&mut self, user: &str, list: &[Ranked], ids: &[String]) -> Result<()> {
        let mut s = String::new();
        for (rank, r) in list.iter().enumerate() {
            match self.format {
                Format::Csv => {
                    let vals: Vec<String> = r.tasks.iter().map(|v| format!("{v:.6}")).collect();
                    s.push_str(&format!(
                        "{},{},{},{:.6},{}\n",
                        csv_field(user),
                        rank + 1,
                        csv_field(&ids[r.item as usize]),
                        r.score,
                        vals.join(",")
                    ));
                }
                Format::Jsonl => {
                    let tasks: serde_json::Map<String, serde_json::Value> = self
                        .tasks
                        .iter()
                        .zip(&r.tasks)
                        .map(|(t, v)| (t.clone(), serde_json::json!(v)))
                        .collect();
                    let line = serde_json::json!({"user": user, "rank": rank + 1, "item": ids[r.item as usize], "score": r.score, "tasks": tasks});
                    s.push_str(&line.to_string());
                    s.push('\n');
                }
            }
        }
        self.put(s.as_bytes())
    }

    /// Flushes, syncs and renames the temporary file over the output.
    pub fn finish(mut self) -> Result<()> {
        let w = self.w.take().expect("open until finish");
        let f = w.into_inner().map_err(|e| io(&self.tmp, e.to_string()))?;
        f.sync_all().map_err(|e| io(&self.tmp, e.to_string()))?;
        std::fs::rename(&self.tmp, &self.out).map_err(|e| {
            io(
                &self.out,
                format!("cannot move the finished file into place ({e})"),
            )
        })
    }
}

impl Drop for ListWriter {
    fn drop(&mut self) {
        if self.w.is_some() {
            let _ = std::fs::remove_file(&self.tmp); // not finished: leave no partial file
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
