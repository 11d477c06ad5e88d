//! The set of every pair (`[data.interactions] split`).
//!
//! * `leave_last_out`: each user's pairs sorted by (time, first line); the last is
//!   test, the one before it valid, the rest train. A user with two pairs has no valid
//!   pair, a user with one only a training pair (the model must see a user to rank for
//!   them).
//! * `time`: all pairs stably sorted by time; with N pairs the first
//!   `N − round(valid·N) − round(test·N)` are train, the next `round(valid·N)` valid,
//!   the last `round(test·N)` test. Pairs of equal time at the cut go by line order.

use super::read::{Pair, Set};
use crate::config::interactions::{InteractionsConfig, PairSplit};
use crate::error::{Error, Result};

/// Sets `pair.set` for every pair; `n_users` users are indexed `0..n_users`.
pub fn assign(pairs: &mut [Pair], n_users: usize, ic: &InteractionsConfig) -> Result<()> {
    let key = |p: &Pair| (p.time, p.source.file, p.source.line);
    match ic.split {
        PairSplit::LeaveLastOut => {
            let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); n_users];
            for (i, p) in pairs.iter().enumerate() {
                by_user[p.user as usize].push(i);
            }
            for list in &mut by_user {
                list.sort_by_key(|&i| key(&pairs[i]));
                for &i in list.iter() {
                    pairs[i].set = Set::Train;
                }
                if list.len() >= 2 {
                    pairs[list[list.len() - 1]].set = Set::Test;
                }
                if list.len() >= 3 {
                    pairs[list[list.len() - 2]].set = Set::Valid;
                }
            }
        }
        PairSplit::Time => {
            let ok = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
            if !ok(ic.valid) || !ok(ic.test) || ic.valid + ic.test >= 1.0 {
                return Err(Error::Config {
                    what: "data.interactions.valid / test".into(),
                    message: format!(
                        "are {} / {}; expected fractions in [0, 1) with valid + test < 1",
                        ic.valid, ic.test
                    ),
                });
            }
            let n = pairs.len();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| key(&pairs[i]));
            let n_test = (ic.test * n as f64).round() as usize;
            let n_valid = (ic.valid * n as f64).round() as usize;
            let n_train = n.saturating_sub(n_test + n_valid);
            for (r, &i) in order.iter().enumerate() {
                pairs[i].set = if r < n_train {
                    Set::Train
                } else if r < n_train + n_valid {
                    Set::Valid
                } else {
                    Set::Test
                };
            }
        }
    }
    Ok(())
}
