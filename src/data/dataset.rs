//! An in-memory data set of dense features and per-task labels, and the mini-batch
//! buffers a training loop fills from it.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// What a task's label is, which decides its loss and metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// Real-valued label; mean squared error.
    Regression,
    /// Label in [0, 1]; the model outputs a logit; binary cross-entropy with logits.
    Binary,
}

/// N samples: features `x (N, D)` and labels `y (N, K)`, one column per task.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// `(N, D)`
    pub x: Tensor,
    /// `(N, K)`
    pub y: Tensor,
    /// K task kinds, in column order of `y`.
    pub tasks: Vec<TaskKind>,
}

impl Dataset {
    /// Checks that `x` and `y` have the same rows, `y` has one column per task, every
    /// value is finite and binary labels lie in [0, 1].
    pub fn new(x: Tensor, y: Tensor, tasks: Vec<TaskKind>) -> Result<Dataset> {
        if x.rows() != y.rows() || y.cols() != tasks.len() {
            return Err(Error::Config {
                what: "data set".into(),
                message: format!(
                    "features have {} rows, labels are {}×{} for {} tasks; expected as many label rows as feature rows and one label column per task",
                    x.rows(),
                    y.rows(),
                    y.cols(),
                    tasks.len()
                ),
            });
        }
        crate::error::check_finite("Dataset::new", "feature", x.data())?;
        crate::error::check_finite("Dataset::new", "label", y.data())?;
        for (i, v) in y.data().iter().enumerate() {
            if tasks[i % tasks.len()] == TaskKind::Binary && !(0.0..=1.0).contains(v) {
                return Err(Error::Value {
                    op: "Dataset::new",
                    what: format!("binary label of task {}", i % tasks.len()),
                    position: i / tasks.len(),
                    value: *v as f64,
                    expected: "a value in [0, 1]".into(),
                });
            }
        }
        Ok(Dataset { x, y, tasks })
    }

    /// N.
    pub fn len(&self) -> usize {
        self.x.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// D.
    pub fn num_features(&self) -> usize {
        self.x.cols()
    }

    /// K.
    pub fn num_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Labels of task `k`, `(N)`.
    pub fn labels(&self, k: usize) -> Vec<f32> {
        (0..self.len()).map(|i| self.y.at(i, k)).collect()
    }

    /// The samples at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Result<Dataset> {
        if let Some(p) = rows.iter().position(|&r| r >= self.len()) {
            return Err(Error::Index {
                op: "Dataset::select",
                position: p,
                index: rows[p] as u64,
                bound: self.len(),
            });
        }
        let (cols, k) = (self.num_features(), self.num_tasks());
        let x = rows
            .iter()
            .flat_map(|&r| self.x.row(r).iter().copied())
            .collect();
        let y = rows
            .iter()
            .flat_map(|&r| self.y.row(r).iter().copied())
            .collect();
        Ok(Dataset {
            x: Tensor::from_vec(rows.len(), cols, x)?,
            y: Tensor::from_vec(rows.len(), k, y)?,
            tasks: self.tasks.clone(),
        })
    }

    /// Consecutive pieces of the given sizes (train / valid / test); they must sum to N.
    pub fn split(&self, sizes: &[usize]) -> Result<Vec<Dataset>> {
        let total: usize = sizes.iter().sum();
        if total != self.len() {
            return Err(Error::Config {
                what: "split sizes".into(),
                message: format!(
                    "{sizes:?} sum to {total}, but the data set has {} rows",
                    self.len()
                ),
            });
        }
        let mut start = 0;
        sizes
            .iter()
            .map(|&n| {
                let rows: Vec<usize> = (start..start + n).collect();
                start += n;
                self.select(&rows)
            })
            .collect()
    }
}

/// Reusable buffers for one mini-batch: features row-major and one label vector per task.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// B.
    pub rows: usize,
    /// `(B, D)` row-major.
    pub x: Vec<f32>,
    /// K vectors of B labels.
    pub y: Vec<Vec<f32>>,
}

impl Batch {
    /// Copies the samples `idx` of `data` into the buffers (no allocation once grown).
    /// `idx` must hold valid row numbers (the caller draws them from `0..N`).
    pub fn fill(&mut self, data: &Dataset, idx: &[usize]) {
        self.rows = idx.len();
        self.x.clear();
        for &r in idx {
            self.x.extend_from_slice(data.x.row(r));
        }
        self.y.resize_with(data.num_tasks(), Vec::new);
        for (k, yk) in self.y.iter_mut().enumerate() {
            yk.clear();
            yk.extend(idx.iter().map(|&r| data.y.at(r, k)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let x = Tensor::from_vec(3, 2, vec![0., 1., 2., 3., 4., 5.]).unwrap();
        let y = Tensor::from_vec(3, 2, vec![0.5, 1., -1., 0., 2., 1.]).unwrap();
        Dataset::new(x, y, vec![TaskKind::Regression, TaskKind::Binary]).unwrap()
    }

    #[test]
    fn split_select_and_batch() {
        let data = tiny();
        let parts = data.split(&[2, 1]).unwrap();
        assert_eq!(parts[1].x.data(), &[4., 5.]);
        assert!(data.split(&[2, 2]).is_err());
        assert!(data.select(&[3]).is_err());
        let mut b = Batch::default();
        b.fill(&data, &[2, 0]);
        assert_eq!(b.x, vec![4., 5., 0., 1.]);
        assert_eq!(b.y, vec![vec![2., 0.5], vec![1., 1.]]);
    }

    #[test]
    fn binary_labels_outside_unit_interval_are_refused() {
        let x = Tensor::from_vec(1, 1, vec![0.]).unwrap();
        let y = Tensor::from_vec(1, 1, vec![2.]).unwrap();
        let e = Dataset::new(x, y, vec![TaskKind::Binary]).unwrap_err();
        assert!(e.to_string().contains("[0, 1]"), "{e}");
    }
}
