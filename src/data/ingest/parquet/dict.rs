//! A categorical feature's string (BYTE_ARRAY) column numbered per dictionary: each
//! dictionary entry is looked up once per column chunk (at its first cell), and every
//! cell takes its entry's code through the dictionary index on the data page, so no
//! cell is copied to text or hashed. Pages the writer wrote plain (its fallback when
//! the dictionary outgrew its page size limit) keep the per-cell path: each cell's
//! bytes looked up in the same table.
//!
//! ```text
//! dictionary page ──entries e = 0 .. D (offsets only)──▶ entry_code[e] = UNSET
//! data page (v1: [def len u32][def runs][values]; v2: [def runs][values])
//!   def level  ──RLE / bit-packed runs──▶ below max: null ──the null text's code (once)
//!   RLE_DICTIONARY values ──bit width, runs──▶ index e ──entry_code[e]──▶ code
//!                 (UNSET: entry e's bytes looked up in `index`, the code kept in e)
//!   PLAIN values ──[len u32][bytes] per cell──▶ `index` ──▶ code   (the per-cell path)
//! ```
//! `index` maps bytes to codes 0, 1, … in first-appearance order over the chunk (row
//! group), so the codes are exactly the numbering of the cells' texts (a null's text
//! included: it is looked up like a value); bytes that are not UTF-8 get a code whose
//! cells are bad rows. A chunk with another encoding (DELTA_*, written by some v2
//! writers) is not read here ([`supported`]): it stays a text column (`typed.rs`).
//! `tests/s11pq_dict.rs` compares the codes and texts with the text path's on
//! dictionary, plain and mixed chunks.

use crate::data::ingest::fx::FxBuild;
use parquet::basic::Encoding;
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ColumnChunkMetaData;
use std::collections::HashMap;

/// An entry whose code is not known yet.
const UNSET: u32 = u32::MAX;

/// Whether column chunk `meta` is read here: BYTE_ARRAY values in dictionary and plain
/// pages, levels in RLE / bit-packed runs (`BIT_PACKED` is listed by v1 writers for the
/// repetition levels a flat column does not have).
#[allow(deprecated)] // BIT_PACKED: read, never written
pub(crate) fn supported(meta: &ColumnChunkMetaData) -> bool {
    meta.column_type() == parquet::basic::Type::BYTE_ARRAY
        && meta.encodings().all(|e| {
            matches!(
                e,
                Encoding::PLAIN
                    | Encoding::PLAIN_DICTIONARY
                    | Encoding::RLE_DICTIONARY
                    | Encoding::RLE
                    | Encoding::BIT_PACKED
            )
        })
}

/// A cursor over RLE / bit-packed hybrid runs (the Parquet spec's encoding of levels
/// and dictionary indices) in `buf[pos..end]`, the buffer passed to each call.
#[derive(Default)]
pub(super) struct Hybrid {
    pos: usize,
    end: usize,
    width: u32,
    /// The current RLE run: values left and the value.
    rle_left: u32,
    rle_value: u32,
    /// The current bit-packed run: values left and the next value's bit position.
    packed_left: u32,
    bit: usize,
    /// The deprecated BIT_PACKED level encoding: one packed run, most significant bit
    /// first.
    msb: bool,
}

/// `width` bits of `buf` from bit `bit` (least significant bit first).
#[inline]
fn bits_lsb(buf: &[u8], bit: usize, width: u32) -> Option<u32> {
    if width == 0 {
        return Some(0);
    }
    let (byte, shift) = (bit / 8, bit % 8);
    if bit + width as usize > buf.len() * 8 {
        return None;
    }
    let mut w = [0u8; 8];
    let n = (buf.len() - byte).min(8);
    w[..n].copy_from_slice(&buf[byte..byte + n]);
    Some(((u64::from_le_bytes(w) >> shift) & ((1u64 << width) - 1)) as u32)
}

/// `width` bits of `buf` from bit `bit`, most significant bit first (BIT_PACKED).
fn bits_msb(buf: &[u8], bit: usize, width: u32) -> Option<u32> {
    if bit + width as usize > buf.len() * 8 {
        return None;
    }
    let mut v = 0u32;
    for b in bit..bit + width as usize {
        v = (v << 1) | u32::from((buf[b / 8] >> (7 - b % 8)) & 1);
    }
    Some(v)
}

impl Hybrid {
    /// Runs in `buf[pos..end]` of values `width` bits wide.
    pub(super) fn new(pos: usize, end: usize, width: u32) -> Hybrid {
        Hybrid {
            pos,
            end,
            width,
            ..Hybrid::default()
        }
    }

    /// The BIT_PACKED level encoding: `count` values in `buf[pos..]`, packed from the
    /// most significant bit.
    pub(super) fn bit_packed(pos: usize, count: usize, width: u32) -> Hybrid {
        Hybrid {
            pos,
            end: pos + (count * width as usize).div_ceil(8),
            width,
            packed_left: count as u32,
            bit: pos * 8,
            msb: true,
            ..Hybrid::default()
        }
    }

    /// The next value.
    #[inline]
    pub(super) fn next(&mut self, buf: &[u8]) -> Result<u32, String> {
        loop {
            if self.rle_left > 0 {
                self.rle_left -= 1;
                return Ok(self.rle_value);
            }
            if self.packed_left > 0 {
                self.packed_left -= 1;
                let data = &buf[..self.end.min(buf.len())];
                let v = if self.msb {
                    bits_msb(data, self.bit, self.width)
                } else {
                    bits_lsb(data, self.bit, self.width)
                };
                self.bit += self.width as usize;
                return v.ok_or_else(|| "a bit-packed run ends past its page".to_string());
            }
            if self.msb {
                return Err("more levels than the page holds".into());
            }
            self.run(buf)?;
        }
    }

    /// Reads the next run's header (a ULEB128 varint: count << 1, low bit set for a
    /// bit-packed run of count × 8 values).
    fn run(&mut self, buf: &[u8]) -> Result<(), String> {
        let end = self.end.min(buf.len());
        let (mut h, mut shift) = (0u64, 0);
        loop {
            let b = *buf
                .get(self.pos)
                .filter(|_| self.pos < end && shift < 64)
                .ok_or("the runs end before the page's values")?;
            self.pos += 1;
            h |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        if h & 1 == 0 {
            let bytes = (self.width as usize).div_ceil(8);
            if self.pos + bytes > end {
                return Err("an RLE run ends past its page".into());
            }
            let mut w = [0u8; 4];
            w[..bytes].copy_from_slice(&buf[self.pos..self.pos + bytes]);
            self.pos += bytes;
            self.rle_left = (h >> 1).min(u64::from(u32::MAX)) as u32;
            self.rle_value = u32::from_le_bytes(w);
        } else {
            let groups = (h >> 1) as usize;
            self.packed_left = (groups * 8).min(u32::MAX as usize) as u32;
            self.bit = self.pos * 8;
            self.pos = (self.pos + groups * self.width as usize).min(end);
        }
        Ok(())
    }
}

/// Where the current data page's values are read.
enum Values {
    /// Dictionary indices in runs.
    Dict(Hybrid),
    /// `[len u32][bytes]` per non-null value, from this offset.
    Plain(usize),
}

/// The current data page: its levels left, definition levels and values.
struct DataPage {
    page: Page,
    left: usize,
    def: Option<Hybrid>,
    values: Values,
}

/// The page's bytes.
fn page_buf(p: &Page) -> &[u8] {
    match p {
        Page::DataPage { buf, .. } | Page::DataPageV2 { buf, .. } => buf,
        Page::DictionaryPage { buf, .. } => buf,
    }
}

/// One string column chunk read as codes.
pub(crate) struct StrColumn {
    pages: Box<dyn PageReader>,
    max_def: i16,
    /// Bytes → code, first appearance first; per code its text, or why it has none.
    index: HashMap<Box<[u8]>, u32, FxBuild>,
    texts: Vec<Result<String, String>>,
    null_code: Option<u32>,
    /// The dictionary page, its entries (offset, length) and their codes.   (D,) each
    dict: Option<Page>,
    entries: Vec<(u32, u32)>,
    entry_code: Vec<u32>,
    data: Option<DataPage>,
}

/// The code of `bytes` in `index`, a new one (with its text) at its first appearance.
#[inline]
fn code_of(
    index: &mut HashMap<Box<[u8]>, u32, FxBuild>,
    texts: &mut Vec<Result<String, String>>,
    bytes: &[u8],
) -> u32 {
    if let Some(&c) = index.get(bytes) {
        return c;
    }
    let c = texts.len() as u32;
    texts.push(match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(format!("bytes that are not UTF-8 ({e})")),
    });
    index.insert(bytes.into(), c);
    c
}

impl StrColumn {
    /// The chunk behind `pages`, whose maximum definition level is `max_def`.
    pub(crate) fn new(pages: Box<dyn PageReader>, max_def: i16) -> StrColumn {
        StrColumn {
            pages,
            max_def,
            index: HashMap::default(),
            texts: Vec::new(),
            null_code: None,
            dict: None,
            entries: Vec::new(),
            entry_code: Vec::new(),
            data: None,
        }
    }

    /// Code `c`'s text (a null's: the null text; bytes that are not UTF-8: empty).
    #[inline]
    pub(crate) fn text(&self, c: u32) -> &str {
        match &self.texts[c as usize] {
            Ok(t) => t,
            Err(_) => "",
        }
    }

    /// Appends the codes of the next `n` rows to `out` (`null`: a null's text) and the
    /// rows (0-based in the batch) whose bytes are not UTF-8 to `bad`, with why.
    pub(crate) fn read(
        &mut self,
        n: usize,
        null: &str,
        out: &mut Vec<u32>,
        bad: &mut Vec<(usize, String)>,
    ) -> Result<(), String> {
        let mut r = 0;
        while r < n {
            if self.data.as_ref().is_none_or(|d| d.left == 0) {
                self.next_page()?;
            }
            let d = self.data.as_mut().expect("next_page sets a page");
            let buf = page_buf(&d.page);
            let take = d.left.min(n - r);
            for _ in 0..take {
                let present = match &mut d.def {
                    Some(def) => def.next(buf)? as i16 == self.max_def,
                    None => true,
                };
                let code = if !present {
                    match self.null_code {
                        Some(c) => c,
                        None => {
                            let c = code_of(&mut self.index, &mut self.texts, null.as_bytes());
                            *self.null_code.insert(c)
                        }
                    }
                } else {
                    match &mut d.values {
                        Values::Dict(h) => {
                            let e = h.next(buf)? as usize;
                            let c = *self.entry_code.get(e).ok_or_else(|| {
                                format!(
                                    "dictionary index {e} past the dictionary's {} entries",
                                    self.entries.len()
                                )
                            })?;
                            if c != UNSET {
                                c
                            } else {
                                let (at, len) = self.entries[e];
                                let dict = page_buf(self.dict.as_ref().expect("entries"));
                                let bytes = &dict[at as usize..(at + len) as usize];
                                let c = code_of(&mut self.index, &mut self.texts, bytes);
                                self.entry_code[e] = c;
                                c
                            }
                        }
                        Values::Plain(pos) => {
                            let (at, len) = plain_value(buf, *pos)?;
                            *pos = at + len;
                            code_of(&mut self.index, &mut self.texts, &buf[at..at + len])
                        }
                    }
                };
                if self.texts[code as usize].is_err() {
                    let why = self.texts[code as usize].as_ref().err().cloned();
                    bad.push((r, why.unwrap_or_default()));
                }
                out.push(code);
                r += 1;
            }
            d.left -= take;
        }
        Ok(())
    }

    /// Reads pages up to the next data page (a dictionary page on the way becomes the
    /// dictionary).
    #[allow(deprecated)] // BIT_PACKED levels: read, never written
    fn next_page(&mut self) -> Result<(), String> {
        loop {
            let page = (self.pages.get_next_page())
                .map_err(|e| e.to_string())?
                .ok_or("the column chunk ends before its rows")?;
            match &page {
                Page::DictionaryPage {
                    buf, num_values, ..
                } => {
                    self.entries = dictionary_entries(buf, *num_values as usize)?;
                    self.entry_code = vec![UNSET; self.entries.len()];
                    self.dict = Some(page);
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let levels = *num_values as usize;
                    let width = level_width(self.max_def);
                    let (def, at) = match (self.max_def > 0, def_level_encoding) {
                        (false, _) => (None, 0),
                        (true, Encoding::RLE) => {
                            let len = u32_at(buf, 0)? as usize;
                            (Some(Hybrid::new(4, 4 + len, width)), 4 + len)
                        }
                        (true, Encoding::BIT_PACKED) => {
                            let h = Hybrid::bit_packed(0, levels, width);
                            let end = h.end;
                            (Some(h), end)
                        }
                        (true, e) => return Err(format!("definition levels encoded {e}")),
                    };
                    let values = self.values(buf, at, *encoding)?;
                    let (left, def) = (levels, def);
                    self.data = Some(DataPage {
                        page,
                        left,
                        def,
                        values,
                    });
                    return Ok(());
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    let start = *rep_levels_byte_len as usize;
                    let at = start + *def_levels_byte_len as usize;
                    let width = level_width(self.max_def);
                    let def = (self.max_def > 0).then(|| Hybrid::new(start, at, width));
                    let values = self.values(buf, at, *encoding)?;
                    self.data = Some(DataPage {
                        left: *num_values as usize,
                        page,
                        def,
                        values,
                    });
                    return Ok(());
                }
            }
        }
    }

    /// The values of a data page `buf` from offset `at`, encoded `encoding`.
    fn values(&self, buf: &[u8], at: usize, encoding: Encoding) -> Result<Values, String> {
        match encoding {
            Encoding::PLAIN => Ok(Values::Plain(at)),
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
                if self.dict.is_none() {
                    return Err("a dictionary-encoded page without a dictionary page".into());
                }
                let width = *buf.get(at).ok_or("a data page without values")?;
                if width > 32 {
                    return Err(format!("dictionary indices {width} bits wide"));
                }
                Ok(Values::Dict(Hybrid::new(
                    at + 1,
                    buf.len(),
                    u32::from(width),
                )))
            }
            e => Err(format!("values encoded {e}")),
        }
    }
}

/// Bits per level for levels up to `max`.
fn level_width(max: i16) -> u32 {
    16 - (max as u16).leading_zeros()
}

/// The little-endian `u32` at `buf[at..]`.
fn u32_at(buf: &[u8], at: usize) -> Result<u32, String> {
    let b = buf.get(at..at + 4).ok_or("a length past the page's end")?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The plain value at `buf[pos..]`: its bytes' offset and length.
#[inline]
fn plain_value(buf: &[u8], pos: usize) -> Result<(usize, usize), String> {
    let len = u32_at(buf, pos)? as usize;
    let at = pos + 4;
    if at + len > buf.len() {
        return Err("a value past the page's end".into());
    }
    Ok((at, len))
}

/// The `(offset, length)` of each of the `n` plain values of a dictionary page.
fn dictionary_entries(buf: &[u8], n: usize) -> Result<Vec<(u32, u32)>, String> {
    let mut out = Vec::with_capacity(n);
    let mut pos = 0;
    for _ in 0..n {
        let (at, len) = plain_value(buf, pos)?;
        out.push((at as u32, len as u32));
        pos = at + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's example of the hybrid encoding's bit-packed run: 0 .. 7 at width 3 is
    /// `10001000 11000110 11111010` (LSB first); header `(1 << 1) | 1` = one group.
    #[test]
    fn hybrid_reads_the_specs_examples() {
        let buf = [0b0000_0011, 0b1000_1000, 0b1100_0110, 0b1111_1010];
        let mut h = Hybrid::new(0, buf.len(), 3);
        let got: Vec<u32> = (0..8).map(|_| h.next(&buf).unwrap()).collect();
        assert_eq!(got, (0..8).collect::<Vec<_>>());
        assert!(h.next(&buf).is_err(), "past the runs");
        // BIT_PACKED (deprecated): the same values MSB first: 00000101 00111001 01110111
        let buf = [0b0000_0101, 0b0011_1001, 0b0111_0111];
        let mut h = Hybrid::bit_packed(0, 8, 3);
        let got: Vec<u32> = (0..8).map(|_| h.next(&buf).unwrap()).collect();
        assert_eq!(got, (0..8).collect::<Vec<_>>());
        // an RLE run of 300 fives at width 9 (two value bytes), then a packed run
        let buf = [0xd8, 0x04, 5, 0, 0b11, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut h = Hybrid::new(0, buf.len(), 9);
        assert!((0..300).all(|_| h.next(&buf) == Ok(5)));
        assert_eq!(h.next(&buf), Ok(511));
        assert!((0..7).all(|_| h.next(&buf) == Ok(0)));
    }

    #[test]
    fn level_widths() {
        assert_eq!(level_width(0), 0);
        assert_eq!(level_width(1), 1);
        assert_eq!(level_width(2), 2);
        assert_eq!(level_width(3), 2);
        assert_eq!(level_width(4), 3);
    }
}
