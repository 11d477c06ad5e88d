//! Which configurations a search tries, and in which order:
//!
//! - `grid`: the Cartesian product of every parameter's grid values, in key order
//!   (the last key varies fastest); ranges need `points` (ints take every `step`-th value).
//! - `random`: trial `i` draws each parameter from its own stream seeded by
//!   `(seed, i)`, so the same seed gives the same trials whatever `--parallel` is, and a
//!   search extended with more trials keeps its first ones.
//! - `halving`: random trials scheduled by asynchronous successive halving
//!   ([`Scheduler`]; Li et al., "A System for Massively Parallel Hyperparameter Tuning",
//!   MLSys 2020): epochs are the budget.
//!
//! Trial 0 is always the base config unchanged (the preset), at the full budget.

use super::space::{Domain, Param, Space};
use crate::error::{Error, Result};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use toml::Value;

/// One trial's settings: `(key, value)` in key order; empty for trial 0.
pub type Settings = Vec<(String, Value)>;

/// The grid values of one parameter.
pub fn grid_values(p: &Param) -> Result<Vec<Value>> {
    let need_points = |what: &str| Error::Config {
        what: format!("space params `{}`", p.key),
        message: format!("{what} has no finite grid; add `points = <n>` for --strategy grid"),
    };
    Ok(match &p.domain {
        Domain::Choice(vs) => vs.clone(),
        Domain::Int { lo, hi, step } => (*lo..=*hi)
            .step_by(*step as usize)
            .map(Value::Integer)
            .collect(),
        Domain::Uniform { lo, hi, points } => {
            let n = points.ok_or_else(|| need_points("a uniform range"))?;
            spaced(n, |t| lo + t * (hi - lo))
        }
        Domain::LogUniform { lo, hi, points } => {
            let n = points.ok_or_else(|| need_points("a log_uniform range"))?;
            spaced(n, |t| (lo.ln() + t * (hi.ln() - lo.ln())).exp())
        }
    })
}

/// `n` values `at(t)` for t evenly spaced in [0, 1] (t = 0.5 when n = 1).
fn spaced(n: usize, at: impl Fn(f64) -> f64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let t = if n == 1 {
                0.5
            } else {
                i as f64 / (n - 1) as f64
            };
            Value::Float(round(at(t)))
        })
        .collect()
}

/// Six significant digits: the value written to the leaderboard and `best.toml` is the
/// value trained with.
fn round(x: f64) -> f64 {
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// Every grid point, in order (the last parameter varies fastest).
pub fn grid(space: &Space) -> Result<Vec<Settings>> {
    let mut out: Vec<Settings> = vec![Vec::new()];
    for p in &space.params {
        let vals = grid_values(p)?;
        out = out
            .into_iter()
            .flat_map(|s| {
                vals.iter().map(move |v| {
                    let mut s = s.clone();
                    s.push((p.key.clone(), v.clone()));
                    s
                })
            })
            .collect();
    }
    Ok(out)
}

/// Trial `trial`'s random draw (trial ≥ 1); a function of `(space.seed, trial)` only.
pub fn sample(space: &Space, trial: usize) -> Settings {
    let seed = space.seed ^ (trial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5455_4E45;
    let mut rng = StdRng::seed_from_u64(seed);
    space
        .params
        .iter()
        .map(|p| {
            let v = match &p.domain {
                Domain::Choice(vs) => vs[rng.gen_range(0..vs.len())].clone(),
                Domain::Uniform { lo, hi, .. } => Value::Float(round(rng.gen_range(*lo..=*hi))),
                Domain::LogUniform { lo, hi, .. } => {
                    Value::Float(round(rng.gen_range(lo.ln()..=hi.ln()).exp()))
                }
                Domain::Int { lo, hi, step } => {
                    let n = (hi - lo) / step;
                    Value::Integer(lo + step * rng.gen_range(0..=n))
                }
            };
            (p.key.clone(), v)
        })
        .collect()
}

/// The epoch budgets of the rungs: `min_epochs · etaᵏ` below `max`, then `max`.
pub fn rungs(min_epochs: usize, eta: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut b = min_epochs.max(1);
    while b < max {
        out.push(b);
        b = b.saturating_mul(eta);
    }
    out.push(max);
    out
}

/// A unit of work: train `trial` up to `epochs` epochs (rung `rung`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub trial: usize,
    pub rung: usize,
    pub epochs: usize,
}

/// Asynchronous successive halving (ASHA). A free worker takes, from the highest rung
/// down, a trial that is in the best ⌊n/η⌋ of the n trials finished at its rung and not
/// yet promoted, and trains it to the next rung's budget; if there is none, it starts
/// the next new trial at rung 0; when none is left, it carries the best trial of the
/// highest rung on ([`Scheduler::drain`]). Grid and random search are the one-rung
/// case: every trial starts at the full budget and none is promoted.
#[derive(Clone, Debug)]
pub struct Scheduler {
    /// Epoch budget per rung.
    pub budgets: Vec<usize>,
    eta: usize,
    maximize: bool,
    /// Trials not yet started, in order; trial 0 (the preset) runs at the top rung.
    pending: VecDeque<usize>,
    /// Per rung: trial → objective (`None`: failed).
    pub results: Vec<BTreeMap<usize, Option<f64>>>,
    /// Per rung: trials promoted out of it.
    promoted: Vec<BTreeSet<usize>>,
}

impl Scheduler {
    /// A scheduler for trials `0..=trials` (0: the preset) over `budgets`.
    pub fn new(budgets: Vec<usize>, eta: usize, maximize: bool, trials: usize) -> Scheduler {
        let k = budgets.len();
        Scheduler {
            budgets,
            eta: eta.max(2),
            maximize,
            pending: (0..=trials).collect(),
            results: vec![BTreeMap::new(); k],
            promoted: vec![BTreeSet::new(); k],
        }
    }

    fn top(&self) -> usize {
        self.budgets.len() - 1
    }

    /// Records that `trial` finished `epochs` epochs with `objective` (`None`: failed).
    /// Used while running and when a search is resumed from its journal.
    pub fn report(&mut self, trial: usize, epochs: usize, objective: Option<f64>) {
        let Some(rung) = self.budgets.iter().position(|&b| b == epochs) else {
            return;
        };
        self.pending.retain(|&t| t != trial);
        self.results[rung].insert(trial, objective);
        for r in 0..rung {
            if trial != 0 {
                self.promoted[r].insert(trial);
            }
        }
    }

    /// The rung-`rung` trials ranked best first (failed last, ties by trial number).
    pub fn ranked(&self, rung: usize) -> Vec<(usize, Option<f64>)> {
        let mut v: Vec<(usize, Option<f64>)> =
            self.results[rung].iter().map(|(t, o)| (*t, *o)).collect();
        let key = |o: Option<f64>| match o {
            Some(x) if self.maximize => -x,
            Some(x) => x,
            None => f64::INFINITY,
        };
        v.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)).then(a.0.cmp(&b.0)));
        v
    }

    /// The next job, or `None` when nothing can start now (wait for a running job, or
    /// the search is over).
    pub fn next_job(&mut self) -> Option<Job> {
        for rung in (0..self.top()).rev() {
            let ranked = self.ranked(rung);
            let keep = ranked.len() / self.eta;
            let pick = ranked[..keep]
                .iter()
                .find(|(t, o)| o.is_some() && !self.promoted[rung].contains(t))
                .map(|(t, _)| *t);
            if let Some(t) = pick {
                self.promoted[rung].insert(t);
                return Some(self.job(t, rung + 1));
            }
        }
        if self.pending.is_empty() {
            return self.drain();
        }
        let t = self.pending.pop_front()?;
        // the preset is the reference: always at the full budget
        let rung = if t == 0 { self.top() } else { 0 };
        Some(self.job(t, rung))
    }

    /// No trial is left to start: unless a sampled trial has been promoted into the top
    /// rung, the best trial of the highest rung reached goes on to the next rung (once
    /// it is back, again), so that at least one sampled trial reaches the full budget.
    /// ASHA's ⌊n/η⌋ alone leaves the top rung to the preset in small searches.
    fn drain(&mut self) -> Option<Job> {
        let top = self.top();
        if top == 0 || !self.promoted[top - 1].is_empty() {
            return None;
        }
        for rung in (0..top).rev() {
            let best = self
                .ranked(rung)
                .into_iter()
                .find(|(t, o)| o.is_some() && *t != 0);
            if let Some((t, _)) = best {
                if self.promoted[rung].contains(&t) {
                    return None; // on its way up already
                }
                self.promoted[rung].insert(t);
                return Some(self.job(t, rung + 1));
            }
        }
        None
    }

    fn job(&self, trial: usize, rung: usize) -> Job {
        Job {
            trial,
            rung,
            epochs: self.budgets[rung],
        }
    }

    /// Puts a job that could not run back (the search stopped before it started).
    pub fn unstarted(&mut self, job: Job) {
        if job.rung == 0 || job.trial == 0 {
            self.pending.push_front(job.trial);
        } else {
            self.promoted[job.rung - 1].remove(&job.trial);
        }
    }

    /// The highest rung `trial` finished, with its objective.
    pub fn reached(&self, trial: usize) -> Option<(usize, Option<f64>)> {
        (0..self.budgets.len())
            .rev()
            .find_map(|r| self.results[r].get(&trial).map(|o| (r, *o)))
    }
}
