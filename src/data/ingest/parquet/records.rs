//! The reference twin of `typed.rs`: a row group through the `parquet` crate's record
//! API (`RowIter`: per row a `Row` of named `Field`s), each value formatted to its
//! text. The way every Parquet file was read before the typed column readers; chosen
//! with `MTREC_PARQUET_RECORDS=1` (tests compare the two: `tests/s9parquet_*.rs`).
//! Its one difference: bytes that are not UTF-8 in a column annotated UTF8 / ENUM /
//! JSON stop the record API itself (a decoder error naming the row group and row),
//! where the typed path makes them a bad row like any other bytes that are not UTF-8.

use super::{BadValue, ParquetColumns, Row};
use crate::error::Result;
use parquet::file::reader::RowGroupReader;
use parquet::record::Field;

/// The text of one value; `Err(what it is)` for a value with no text form.
fn text_of<'a>(
    f: &'a Field,
    null: &'a str,
    buf: &'a mut String,
) -> std::result::Result<&'a str, String> {
    use std::fmt::Write;
    buf.clear();
    let _ = match f {
        Field::Null => return Ok(null),
        Field::Str(s) => return Ok(s.as_str()),
        Field::Bytes(b) => {
            return std::str::from_utf8(b.data())
                .map_err(|e| format!("bytes that are not UTF-8 ({e})"))
        }
        Field::Bool(b) => return Ok(if *b { "1" } else { "0" }),
        Field::Byte(v) => write!(buf, "{v}"),
        Field::Short(v) => write!(buf, "{v}"),
        Field::Int(v) => write!(buf, "{v}"),
        Field::Long(v) => write!(buf, "{v}"),
        Field::UByte(v) => write!(buf, "{v}"),
        Field::UShort(v) => write!(buf, "{v}"),
        Field::UInt(v) => write!(buf, "{v}"),
        Field::ULong(v) => write!(buf, "{v}"),
        Field::Float16(v) => write!(buf, "{}", f32::from(*v)),
        Field::Float(v) => write!(buf, "{v}"),
        Field::Double(v) => write!(buf, "{v}"),
        other => return Err(format!("the value {other}")),
    };
    Ok(buf.as_str())
}

/// [`ParquetColumns::read_group`] through the record API: every cell a text.
pub(super) fn read_group(
    pq: &ParquetColumns,
    g: usize,
    first: u64,
    mut row: impl FnMut(u64, std::result::Result<&Row<'_>, BadValue>) -> Result<bool>,
) -> Result<()> {
    let group = pq.group_reader(g)?;
    let rows = group
        .get_row_iter(pq.projection.clone())
        .map_err(|e| pq.io(g, None, e))?;
    let mut line = first;
    let mut bufs: Vec<String> = vec![String::new(); pq.picked.len()];
    for r in rows {
        line += 1;
        let r = r.map_err(|e| pq.io(g, Some(line), e))?;
        let mut texts: Vec<&str> = Vec::with_capacity(pq.picked.len());
        let mut bad: Option<(usize, String)> = None;
        for ((k, (_, f)), buf) in r.get_column_iter().enumerate().zip(bufs.iter_mut()) {
            match text_of(f, &pq.null, buf) {
                Ok(t) => texts.push(t),
                Err(what) => {
                    bad.get_or_insert((k, what));
                    texts.push("");
                }
            }
        }
        let go = match bad {
            Some((k, what)) => row(line, Err(pq.bad_value(g, k, what))),
            None => {
                let out: Vec<&str> = pq.slot.iter().map(|&s| texts[s]).collect();
                row(line, Ok(&Row::Texts(&out)))
            }
        }?;
        if !go {
            break;
        }
    }
    Ok(())
}
