//! `mtrec embed`: a column of texts in, one unit-length vector per text out.

use crate::error::{Error, Result};
use crate::text::cache::write_embeddings;
use crate::text::Encoder;
use ndarray::Array2;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Model folder (config.json, model.safetensors, vocab.txt), e.g.
    /// ../shared/models/all-MiniLM-L6-v2.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Texts: a .csv or .tsv file with a header row (pick the column with --column), or
    /// any other file as plain text, one text per line (empty lines are texts too, except
    /// a final newline).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Output, by extension: .safetensors (one F32 tensor `embeddings` (N, D)), .npy
    /// (float32 array (N, D)) or .csv (N lines of D comma-separated numbers). Row i is
    /// the embedding of input text i.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Column holding the texts in a .csv / .tsv input.
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub column: String,
    /// Texts per forward pass (texts are grouped by length first).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub batch_size: usize,
    /// Decode the input as Latin-1 (ISO-8859-1) instead of UTF-8, e.g. MovieLens u.item.
    #[arg(long)]
    pub latin1: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Neither read nor write the embedding cache that train, eval, predict, seq and
    /// embed share ($MTREC_CACHE/text, else $XDG_CACHE_HOME/mtrec/text, else
    /// ~/.cache/mtrec/text; keyed by the model files' content and the texts).
    #[arg(long)]
    pub no_cache: bool,
}

pub fn run(args: &EmbedArgs) -> Result<()> {
    // the whole command runs on a worker of its own pool: parallel regions then fork
    // from inside the pool instead of handing work over from the main thread
    super::in_pool(args.threads, || {
        let texts = read_texts(&args.input, &args.column, args.latin1)?;
        let fmt = OutFormat::of(&args.output)?;
        // the shared cache: the same texts embedded by the same model before are read
        let cache = match crate::text::cache::shared_dir().filter(|_| !args.no_cache) {
            Some(dir) => Some(crate::text::cache::cache_path(&args.model, &texts, &dir)?),
            None => None,
        };
        if let Some(path) = &cache {
            if let Some(Ok(m)) = crate::text::cache::read_cache(path, texts.len()) {
                write_output(&args.output, fmt, &m)?;
                eprintln!(
                    "text cache: read {} embeddings from {} -> {}",
                    m.nrows(),
                    path.display(),
                    args.output.display()
                );
                return Ok(());
            }
        }
        let t0 = Instant::now();
        let enc = Encoder::load(&args.model)?;
        let load_s = t0.elapsed().as_secs_f64();
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let (m, enc_s) = crate::text::progress::encode_with_bar(&enc, &refs, args.batch_size)?;
        write_output(&args.output, fmt, &m)?;
        if let Some(path) = &cache {
            write_embeddings(path, &m)?;
            eprintln!("text cache: stored in {}", path.display());
        }
        eprintln!(
            "embedded {} texts into ({}, {}) in {:.2} s ({:.1} texts/s; model loaded in {:.2} s) -> {}",
            m.nrows(),
            m.nrows(),
            m.ncols(),
            enc_s,
            m.nrows() as f64 / enc_s.max(1e-9),
            load_s,
            args.output.display()
        );
        Ok(())
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    Safetensors,
    Npy,
    Csv,
}

impl OutFormat {
    fn of(path: &Path) -> Result<OutFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("safetensors") => Ok(OutFormat::Safetensors),
            Some("npy") => Ok(OutFormat::Npy),
            Some("csv") => Ok(OutFormat::Csv),
            _ => Err(Error::Config {
                what: "--output".into(),
                message: format!(
                    "`{}`: name the file .safetensors, .npy or .csv to pick the format",
                    path.display()
                ),
            }),
        }
    }
}

fn io_err(path: &Path, message: String) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message,
    }
}

/// The texts of `path`: column `column` of a .csv / .tsv with a header, else one per line.
pub fn read_texts(path: &Path, column: &str, latin1: bool) -> Result<Vec<String>> {
    let bytes =
        std::fs::read(path).map_err(|e| io_err(path, format!("cannot read the input: {e}")))?;
    let text = if latin1 {
        bytes.iter().map(|&b| b as char).collect::<String>()
    } else {
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            io_err(path, format!("line {line} is not valid UTF-8 (byte {at}); if the file is Latin-1 (e.g. MovieLens u.item) pass --latin1"))
        })?
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let delim = match ext.as_deref() {
        Some("csv") => Some(b','),
        Some("tsv") => Some(b'\t'),
        _ => None,
    };
    let texts = match delim {
        None => {
            let body = text.strip_suffix('\n').unwrap_or(&text);
            if body.is_empty() {
                Vec::new()
            } else {
                body.split('\n')
                    .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
                    .collect()
            }
        }
        Some(delim) => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(delim)
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers = rdr
                .headers()
                .map_err(|e| io_err(path, format!("cannot read the header row: {e}")))?
                .clone();
            let Some(col) = headers.iter().position(|h| h == column) else {
                let names: Vec<&str> = headers.iter().collect();
                return Err(Error::Input {
                    path: path.display().to_string(),
                    line: 1,
                    column: 1,
                    what: "text column".into(),
                    seen: format!("no column `{column}` among {names:?}"),
                    expected: "--column naming one of the header's columns".into(),
                });
            };
            let mut out = Vec::new();
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.map_err(|e| io_err(path, format!("row {}: {e}", i + 2)))?;
                let Some(v) = rec.get(col) else {
                    return Err(Error::Input {
                        path: path.display().to_string(),
                        line: i + 2,
                        column: col + 1,
                        what: format!("column `{column}`"),
                        seen: format!("a row of {} fields", rec.len()),
                        expected: format!("at least {} fields", col + 1),
                    });
                };
                out.push(v.to_string());
            }
            out
        }
    };
    if texts.is_empty() {
        return Err(io_err(
            path,
            "holds no texts; expected one text per line, or a header and rows".into(),
        ));
    }
    Ok(texts)
}

fn write_output(path: &Path, fmt: OutFormat, m: &Array2<f32>) -> Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    match fmt {
        OutFormat::Safetensors => return write_embeddings(path, m),
        OutFormat::Npy => {
            let mut header = format!(
                "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
                m.nrows(),
                m.ncols()
            );
            // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
            while (10 + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            buf.extend_from_slice(b"\x93NUMPY\x01\x00");
            buf.extend_from_slice(&(header.len() as u16).to_le_bytes());
            buf.extend_from_slice(header.as_bytes());
            for x in m.iter() {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        OutFormat::Csv => {
            for row in m.rows() {
                let line: Vec<String> = row.iter().map(|x| x.to_string()).collect();
                writeln!(buf, "{}", line.join(",")).expect("writing to memory");
            }
        }
    }
    std::fs::write(path, buf).map_err(|e| io_err(path, format!("cannot write the embeddings: {e}")))
}
