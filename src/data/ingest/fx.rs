//! A fast non-cryptographic hash for the ingest's per-cell hash tables.

use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (rustc's `FxHasher`): a rotate, xor and multiply per 8 bytes. The
/// cache build's chunk-local code maps and vocabularies and the Parquet dictionary
/// path's per-row-group text tables look up a key once per cell, where SipHash was the
/// cost. Not a defence against chosen keys: the tables it keys hold a file's own values.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        // the last 1..=7 bytes as one zero-padded word (one multiply, not one per byte)
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`Fx`] hashers.
pub(crate) type FxBuild = BuildHasherDefault<Fx>;
