//! The batch layouts the network reads, defined here so that `nn` and `models` need
//! nothing from the data layer above them: the tabular [`EncodedBatch`] (filled by
//! `data::features`, read by [`super::FeatureInput`]) and the sequence view [`SeqInput`]
//! (built by `data::sequences::SeqBatch::input`, read by `models::sasrec`). The data
//! layer re-exports them under their old paths.

/// Variable-length lists of ids, CSR-style: list r is `ids[offsets[r]..offsets[r+1]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bags {
    /// `(N + 1)`, `offsets[0] = 0`, non-decreasing, last = `ids.len()`.
    pub offsets: Vec<u32>,
    /// All lists concatenated.
    pub ids: Vec<u32>,
}

impl Default for Bags {
    fn default() -> Self {
        Bags {
            offsets: vec![0],
            ids: Vec::new(),
        }
    }
}

impl Bags {
    /// Number of lists.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// List `r`.
    pub fn bag(&self, r: usize) -> &[u32] {
        &self.ids[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }

    /// Empties the lists, keeping the allocations.
    pub fn clear(&mut self) {
        self.offsets.clear();
        self.offsets.push(0);
        self.ids.clear();
    }

    /// Appends one list.
    pub fn push(&mut self, bag: &[u32]) {
        self.ids.extend_from_slice(bag);
        self.offsets.push(self.ids.len() as u32);
    }
}

/// One mini-batch of B rows, laid out for the model: each categorical feature's ids
/// contiguous (what `Graph::gather` takes), numerics row-major (what `Graph::input_slice`
/// takes), each task's labels and mask contiguous (what the losses take).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodedBatch {
    /// B.
    pub rows: usize,
    /// F_num (so that `num` can be fed as `(B, F_num)` even when B = 0).
    pub n_num: usize,
    /// Per categorical feature f, its ids.                   // F_cat × (B,)
    pub cat: Vec<Vec<u32>>,
    /// Scaled numeric features.                              // (B, F_num) row-major
    pub num: Vec<f32>,
    /// Per multi-hot feature: offsets (B + 1), ids.
    pub bags: Vec<Bags>,
    /// Per task k, its labels.                               // K × (B,)
    pub labels: Vec<Vec<f32>>,
    /// Per task k, 1 = labelled.                             // K × (B,)
    pub mask: Vec<Vec<f32>>,
    /// Per text feature, each row's frozen text vector.      // F_text × (B, D_t)
    pub text: Vec<Vec<f32>>,
}

/// A padded batch of B sequences of length T, as the model reads it (built by
/// `data::sequences::SeqBatch::input`).
#[derive(Clone, Copy, Debug)]
pub struct SeqInput<'a> {
    pub b: usize,
    pub t: usize,
    /// `(B·T)` item ids, right-padded with 0.
    pub ids: &'a [u32],
    /// `(B·T)` position of each slot.
    pub pos: &'a [u32],
    /// `(B)` real length of each sequence.
    pub lens: &'a [usize],
    /// `(N)` rows of `(B·T)` whose output the heads read.
    pub rows: &'a [u32],
}
