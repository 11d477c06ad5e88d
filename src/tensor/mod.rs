//! Row-major f32 matrices: the one data type every op reads and writes.
//!
//! mtrec's models are built from 2-D tensors `(rows, cols)`: a batch of B rows of D
//! features, `(B, D)`. Sequences and experts are laid out as column blocks
//! (`(B, E·D)` for E experts of width D) so every kernel is a loop over rows.

use crate::error::{Error, Result};
use ndarray::Array2;

/// An owned row-major `(rows, cols)` matrix of f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor from row-major data; fails if `data.len() != rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Tensor> {
        if data.len() != rows * cols {
            return Err(Error::Length {
                op: "Tensor::from_vec",
                what: "data".into(),
                len: data.len(),
                expected: rows * cols,
            });
        }
        Ok(Tensor { rows, cols, data })
    }

    /// A `(rows, cols)` tensor of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Tensor {
        Tensor {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The row-major data.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row `r` as a slice of `cols` values.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Element `(r, c)`.
    pub fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.cols + c]
    }

    /// A copy as an `ndarray` matrix.
    pub fn to_array(&self) -> Array2<f32> {
        Array2::from_shape_vec((self.rows, self.cols), self.data.clone())
            .expect("Tensor invariant: data.len() == rows * cols")
    }

    /// From an `ndarray` matrix (any memory layout; copied to row-major).
    pub fn from_array(a: &Array2<f32>) -> Tensor {
        let (rows, cols) = a.dim();
        Tensor {
            rows,
            cols,
            data: a.iter().copied().collect(),
        }
    }
}
