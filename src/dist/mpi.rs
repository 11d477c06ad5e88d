//! [`GradientSync`] over MPI (rsmpi on the system's Open MPI; `--features mpi`).
//!
//! `mtrec train` started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`, MPICH and
//! Slurm's PMI set `PMI_SIZE`) joins the job with [`launch`]; started any other way it
//! does not touch MPI, so a binary built with the feature runs alone as before.
//! MPI is initialised on the thread that trains (`Threading::Funneled`): every
//! collective is called from it, never from the worker threads of a step.
//! MPI's default error handler ends the job on a failed collective; a rank that dies
//! makes `mpirun` end the others (docs/distributed.md).

use super::GradientSync;
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;

/// One process of an MPI job.
pub struct MpiSync {
    // dropped last: MPI_Finalize
    _universe: Universe,
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    send: Vec<f32>,
    counts: Vec<Count>,
    displs: Vec<Count>,
}

/// Joins the MPI job when started by `mpirun`; `None` otherwise (one process, no MPI).
pub fn launch() -> Result<Option<MpiSync>> {
    if !super::under_launcher() {
        return Ok(None);
    }
    let (universe, got) =
        mpi::initialize_with_threading(Threading::Funneled).ok_or_else(|| Error::Config {
            what: "MPI".into(),
            message:
                "MPI was already initialised in this process; start mtrec train once per process"
                    .into(),
        })?;
    if matches!(got, Threading::Single) {
        return Err(Error::Config {
            what: "MPI".into(),
            message: "the MPI library offers only MPI_THREAD_SINGLE; mtrec's steps use worker threads: use an MPI built with thread support (Open MPI from the Debian packages has it)".into(),
        });
    }
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    Ok(Some(MpiSync {
        _universe: universe,
        world,
        rank,
        size,
        send: Vec::new(),
        counts: Vec::new(),
        displs: Vec::new(),
    }))
}

impl MpiSync {
    /// Gathers every rank's length into `counts` and sets `displs`; returns the total.
    fn gather_counts(&mut self, len: usize, counts: &mut Vec<usize>) -> Result<usize> {
        let len = Count::try_from(len).map_err(|_| too_long(len))?;
        self.counts.clear();
        self.counts.resize(self.size, 0);
        self.world.all_gather_into(&len, &mut self.counts[..]);
        self.displs.clear();
        let mut at: usize = 0;
        for &c in &self.counts {
            self.displs
                .push(Count::try_from(at).map_err(|_| too_long(at))?);
            at += c as usize;
        }
        counts.clear();
        counts.extend(self.counts.iter().map(|&c| c as usize));
        Ok(at)
    }
}

fn too_long(n: usize) -> Error {
    Error::Config {
        what: "data-parallel training".into(),
        message: format!(
            "a gradient message of {n} values exceeds MPI's 2^31 − 1; lower train.batch_size or the embedding sizes"
        ),
    }
}

impl GradientSync for MpiSync {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum(&mut self, buf: &mut [f32]) -> Result<()> {
        Count::try_from(buf.len()).map_err(|_| too_long(buf.len()))?;
        self.send.clear();
        self.send.extend_from_slice(buf);
        self.world
            .all_reduce_into(&self.send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn all_gather_u32(
        &mut self,
        local: &[u32],
        out: &mut Vec<u32>,
        counts: &mut Vec<usize>,
    ) -> Result<()> {
        let total = self.gather_counts(local.len(), counts)?;
        out.clear();
        out.resize(total, 0);
        let mut part = PartitionMut::new(&mut out[..], &self.counts[..], &self.displs[..]);
        self.world.all_gather_varcount_into(local, &mut part);
        Ok(())
    }

    fn all_gather_f32(
        &mut self,
        local: &[f32],
        out: &mut Vec<f32>,
        counts: &mut Vec<usize>,
    ) -> Result<()> {
        let total = self.gather_counts(local.len(), counts)?;
        out.clear();
        out.resize(total, 0.0);
        let mut part = PartitionMut::new(&mut out[..], &self.counts[..], &self.displs[..]);
        self.world.all_gather_varcount_into(local, &mut part);
        Ok(())
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
