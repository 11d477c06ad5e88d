//! Autograd graphs kept between scoring calls. [`Graph::reset`] forgets a graph's nodes
//! but keeps their buffers, so a forward pass on a graph taken from the pool writes into
//! the last pass's buffers instead of allocating (and zeroing) new ones: a served
//! request of 1,000 pairs allocates nothing for its activations once the pool is warm.
//! The values do not depend on the graph's past (every op overwrites its output, as in
//! training, where one graph serves every step): `tests/s8recserve_graphs.rs`.

use crate::autograd::Graph;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Graphs kept at most (one per thread that scores at once is enough).
const KEEP: usize = 4;

/// A pool of graphs, shared by the threads that score with one recommender.
#[derive(Default)]
pub struct GraphPool(Mutex<Vec<Graph>>, AtomicU64);

impl GraphPool {
    /// Runs `f` on a reset graph of the pool (a new one when all are taken) and puts it
    /// back.
    pub fn with<T>(&self, f: impl FnOnce(&mut Graph) -> T) -> T {
        self.1.fetch_add(1, Ordering::Relaxed);
        let taken = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut g = taken.unwrap_or_else(|| Graph::new(0));
        g.reset();
        let out = f(&mut g);
        let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < KEEP {
            pool.push(g);
        }
        out
    }

    /// Passes run so far ([`GraphPool::with`] calls).
    pub fn passes(&self) -> u64 {
        self.1.load(Ordering::Relaxed)
    }

    /// Graphs in the pool now.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for GraphPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GraphPool({} kept)", self.len())
    }
}
