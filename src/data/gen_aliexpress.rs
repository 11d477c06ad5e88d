//! A generator of AliExpress-shaped CSV at any size, for scale benchmarks
//! (`mtrec gen aliexpress --rows N --out file.csv[.gz] --seed S`, docs/benchmarks.md).
//!
//! The layout is the MTReclib files' (and `loader = "aliexpress"`'s):
//! `search_id, categorical_1..16, numerical_1..63, click, conversion`.
//!
//! * ids: Zipf-distributed over each column's vocabulary ([`CARDINALITY`]: a few
//!   columns with 10^4..10^6 values, most with a handful, as in the real files). The
//!   sampler inverts the CDF of the continuous power law p(x) ∝ x^−s on [1, V+1):
//!   `x = ((V+1)^(1−s)·u + (1 − u))^(1/(1−s))`, id = ⌊x⌋ − 1, so id 0 is the most
//!   frequent; a close and O(1) stand-in for the discrete Zipf law.
//! * numerics: 63 values in [0, 1] with six decimals, ~40% exact zeros (as in the
//!   real files); each column mixes a per-row latent `z` (shared with the labels) and
//!   noise, so the numerics carry signal.
//! * labels: `click ~ Bernoulli(σ(−3 + 1.2·z + e_item + e_user))`, where `e_item`,
//!   `e_user` are fixed pseudo-random effects of the ids of categorical_7 and _9
//!   (a hash of the id, so the head ids are learnable); `conversion` only where
//!   click = 1, `~ Bernoulli(σ(−2 + 1.0·z + e_item))`. Click rate ≈ 7%, conversions ≈
//!   1% of rows; a model learns AUC well above 0.5 on both.
//!
//! Determinism: the rows are made in chunks of [`CHUNK`] rows, chunk `k` from its own
//! generator seeded by `(seed, k)`, so the file is a function of (rows, seed) only,
//! whatever the thread count. Chunks are generated in parallel and written in order;
//! with `.gz` each chunk is its own gzip member (a multi-member file, which gzip,
//! pandas and mtrec read as one stream).

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Vocabulary size of categorical_1..16.
pub const CARDINALITY: [u64; 16] = [
    5, 12, 30, 4, 2_000, 40, 1_000_000, 50, 200_000, 3, 3, 3, 3, 3, 3, 20_000,
];

/// Zipf exponent s of the id columns.
const ZIPF_S: f64 = 1.1;

/// Rows per chunk (one generator seed, one gzip member).
pub const CHUNK: u64 = 16_384;

/// Rows per search (search_id advances every this many rows).
const ROWS_PER_SEARCH: u64 = 24;

/// SplitMix64: a tiny, fast generator whose stream is fixed by its seed forever
/// (independent of any crate's version).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1) with 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fixed effect in [−1, 1) of `id` in column `col`.
fn effect(col: u64, id: u64) -> f64 {
    let h = mix(id.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ col);
    (h >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `(V+1)^(1−s)` per column, precomputed.
fn zipf_tops() -> [f64; 16] {
    CARDINALITY.map(|v| ((v + 1) as f64).powf(1.0 - ZIPF_S))
}

/// An id in [0, V) from the power law (see the module doc).
fn zipf(rng: &mut SplitMix, top: f64, v: u64) -> u64 {
    let u = rng.unit();
    let x = (top * u + (1.0 - u)).powf(1.0 / (1.0 - ZIPF_S));
    (x as u64).saturating_sub(1).min(v - 1)
}

/// The header line (with its newline).
pub fn header() -> String {
    let mut h = String::from("search_id");
    for i in 1..=16 {
        h.push_str(&format!(",categorical_{i}"));
    }
    for i in 1..=63 {
        h.push_str(&format!(",numerical_{i}"));
    }
    h.push_str(",click,conversion\n");
    h
}

fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `micro / 10^6` with six decimals (`0.034512`, `1.0`, `0.0`).
fn push_fraction(out: &mut Vec<u8>, micro: u32) {
    match micro {
        0 => out.extend_from_slice(b"0.0"),
        1_000_000.. => out.extend_from_slice(b"1.0"),
        m => {
            out.extend_from_slice(b"0.");
            let mut digits = [b'0'; 6];
            let mut v = m;
            for k in (0..6).rev() {
                digits[k] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            out.extend_from_slice(&digits);
        }
    }
}

/// The text of rows `[first, first + n)` for `seed`.
fn chunk_text(seed: u64, chunk: u64, first: u64, n: u64) -> Vec<u8> {
    let mut rng = SplitMix(mix(seed ^ mix(chunk.wrapping_add(0xA5A5))));
    let tops = zipf_tops();
    let mut out = Vec::with_capacity(n as usize * 520);
    let mut ids = [0u64; 16];
    for r in first..first + n {
        push_u64(&mut out, r / ROWS_PER_SEARCH);
        for (c, id) in ids.iter_mut().enumerate() {
            *id = zipf(&mut rng, tops[c], CARDINALITY[c]);
            out.push(b',');
            push_u64(&mut out, *id);
        }
        // per-row latent: a sum of three uniforms, centred (≈ N(0, 1/4))
        let z = rng.unit() + rng.unit() + rng.unit() - 1.5;
        let z = 2.0 * z + 0.5 * effect(1, ids[0]);
        for j in 0..63u64 {
            out.push(b',');
            let u = rng.unit();
            // ~40% zeros, more where the latent is low
            if u < 0.4 - 0.1 * z.clamp(-1.0, 1.0) {
                out.extend_from_slice(b"0.0");
                continue;
            }
            let w = if j % 3 == 0 { 1.0 } else { 0.3 };
            let v = sigmoid(w * z + 1.5 * (rng.unit() - 0.5));
            push_fraction(&mut out, (v * 1e6) as u32);
        }
        let e_item = effect(7, ids[6]);
        let e_user = effect(9, ids[8]);
        let click = rng.unit() < sigmoid(-3.0 + 1.2 * z + e_item + e_user);
        let conv = click && rng.unit() < sigmoid(-2.0 + 1.0 * z + e_item);
        out.extend_from_slice(match (click, conv) {
            (true, true) => b",1,1\n",
            (true, false) => b",1,0\n",
            _ => b",0,0\n",
        });
    }
    out
}

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    /// Bytes of CSV text (before compression).
    pub text_bytes: u64,
}

/// Writes `rows` rows for `seed` to `out` (gzip when the name ends in `.gz`).
/// The file is written next to `out` and renamed at the end, so a killed run leaves
/// no half file under the final name.
pub fn generate(rows: u64, seed: u64, out: &Path) -> Result<Written> {
    let shown = out.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: shown.clone(),
        message: format!(
            "cannot write the generated data ({e}); check the folder and free disk space"
        ),
    };
    let gz = out.extension().is_some_and(|e| e == "gz");
    let tmp = out.with_extension(format!(
        "{}.partial",
        out.extension()
            .map_or("".into(), |e| e.to_string_lossy().into_owned())
    ));
    let mut file =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).map_err(io)?);
    let head = header();
    let mut text_bytes = head.len() as u64;
    let encode = |text: &[u8]| -> std::io::Result<Vec<u8>> {
        if !gz {
            return Ok(text.to_vec());
        }
        let mut e = flate2::write::GzEncoder::new(
            Vec::with_capacity(text.len() / 3),
            flate2::Compression::fast(),
        );
        e.write_all(text)?;
        e.finish()
    };
    file.write_all(&encode(head.as_bytes()).map_err(io)?)
        .map_err(io)?;
    let chunks = rows.div_ceil(CHUNK);
    // a window of chunks in parallel at a time: memory stays bounded at any N
    let window = (rayon::current_num_threads() as u64 * 2).max(2);
    let mut k = 0;
    while k < chunks {
        let end = (k + window).min(chunks);
        let parts: Vec<std::io::Result<(u64, Vec<u8>)>> = (k..end)
            .into_par_iter()
            .map(|c| {
                let first = c * CHUNK;
                let text = chunk_text(seed, c, first, CHUNK.min(rows - first));
                Ok((text.len() as u64, if gz { encode(&text)? } else { text }))
            })
            .collect();
        for p in parts {
            let (n, bytes) = p.map_err(io)?;
            text_bytes += n;
            file.write_all(&bytes).map_err(io)?;
        }
        k = end;
    }
    file.flush().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, out).map_err(io)?;
    Ok(Written { rows, text_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_integers_print_like_the_real_files() {
        let mut o = Vec::new();
        push_fraction(&mut o, 34_512);
        o.push(b' ');
        push_fraction(&mut o, 0);
        o.push(b' ');
        push_fraction(&mut o, 1_000_000);
        o.push(b' ');
        push_u64(&mut o, 0);
        o.push(b' ');
        push_u64(&mut o, 1_234_567);
        assert_eq!(String::from_utf8(o).unwrap(), "0.034512 0.0 1.0 0 1234567");
    }

    #[test]
    fn zipf_ids_stay_in_range_and_favour_small_ids() {
        let mut rng = SplitMix(7);
        let v = 1_000_000;
        let top = ((v + 1) as f64).powf(1.0 - ZIPF_S);
        let ids: Vec<u64> = (0..20_000).map(|_| zipf(&mut rng, top, v)).collect();
        assert!(ids.iter().all(|&i| i < v));
        let zeros = ids.iter().filter(|&&i| i == 0).count();
        let high = ids.iter().filter(|&&i| i >= v / 2).count();
        assert!(zeros > high, "id 0: {zeros}, top half: {high}");
        let distinct: std::collections::HashSet<u64> = ids.iter().copied().collect();
        assert!(distinct.len() > 2_000, "{} distinct", distinct.len());
    }
}
