//! The running state of a [`Balancer`] in a training checkpoint, so that `--resume`
//! continues exactly: GradNorm's task weights and initial losses, DWA's loss history and
//! weights, and how far PCGrad's order generator has advanced. Fixed weights have no
//! state and uncertainty weighting keeps its log-variances as parameters (saved with the
//! others).
//!
//! Entries are text in the checkpoint's `extra` map: f32 values written with `{}` (the
//! shortest text that parses back to the same bits), separated by spaces, epochs of
//! DWA's history by `;`.

use super::{Balancer, State};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

const GN_WEIGHTS: &str = "balance.gradnorm.weights";
const GN_INITIAL: &str = "balance.gradnorm.initial_losses";
const DWA_WEIGHTS: &str = "balance.dwa.weights";
const DWA_HISTORY: &str = "balance.dwa.history";
const PCGRAD_STEPS: &str = "balance.pcgrad.steps";

fn join(v: &[f32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse(key: &str, text: &str, k: usize) -> Result<Vec<f32>> {
    let v = text
        .split_whitespace()
        .map(str::parse::<f32>)
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|e| bad(key, format!("`{text}` is not a list of numbers ({e})")))?;
    if v.len() != k {
        return Err(bad(key, format!("holds {} values for {k} tasks", v.len())));
    }
    Ok(v)
}

fn bad(key: &str, message: String) -> Error {
    Error::Config {
        what: format!("training state `{key}`"),
        message: format!("{message}; the checkpoint does not match this run's tasks"),
    }
}

fn get<'a>(extra: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str> {
    extra.get(key).map(String::as_str).ok_or_else(|| Error::Config {
        what: format!("training state `{key}`"),
        message: "is missing (a checkpoint written before mtrec saved the loss balancer's state, or by another method): resuming would restart the task weights, so start the run again".into(),
    })
}

impl Balancer {
    /// Adds this balancer's running state to a checkpoint's `extra` map.
    pub fn save_state(&self, extra: &mut BTreeMap<String, String>) {
        match &self.state {
            State::Fixed(_) | State::Uncertainty(_) => {}
            State::GradNorm(s) => {
                extra.insert(GN_WEIGHTS.into(), join(&s.weights));
                extra.insert(GN_INITIAL.into(), join(&s.initial_losses));
            }
            State::Dwa(s) => {
                extra.insert(DWA_WEIGHTS.into(), join(&s.weights));
                let h: Vec<String> = s.history.iter().map(|e| join(e)).collect();
                extra.insert(DWA_HISTORY.into(), h.join(";"));
            }
            State::PcGrad(s) => {
                extra.insert(PCGRAD_STEPS.into(), s.steps.to_string());
            }
        }
    }

    /// Restores the running state written by [`Balancer::save_state`]; an error if the
    /// map lacks it or it does not fit this balancer's tasks.
    pub fn load_state(&mut self, extra: &BTreeMap<String, String>) -> Result<()> {
        let k = self.forms.len();
        match &mut self.state {
            State::Fixed(_) | State::Uncertainty(_) => {}
            State::GradNorm(s) => {
                s.weights = parse(GN_WEIGHTS, get(extra, GN_WEIGHTS)?, k)?;
                s.initial_losses = parse(GN_INITIAL, get(extra, GN_INITIAL)?, k)?;
            }
            State::Dwa(s) => {
                s.weights = parse(DWA_WEIGHTS, get(extra, DWA_WEIGHTS)?, k)?;
                let h = get(extra, DWA_HISTORY)?;
                s.history = h
                    .split(';')
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| parse(DWA_HISTORY, e, k))
                    .collect::<Result<_>>()?;
            }
            State::PcGrad(s) => {
                let text = get(extra, PCGRAD_STEPS)?;
                let steps = text.parse::<u64>().map_err(|e| {
                    bad(PCGRAD_STEPS, format!("`{text}` is not a step count ({e})"))
                })?;
                s.replay(k, steps);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::ParamStore;
    use crate::balance::{Method, TaskForm};

    fn balancer(name: &str) -> Balancer {
        let forms = [TaskForm::Classification, TaskForm::Regression];
        Balancer::new(
            Method::by_name(name, 2).unwrap(),
            &forms,
            &mut ParamStore::new(),
        )
        .unwrap()
    }

    /// DWA's state survives a round trip bit for bit; a missing or mis-sized entry is an
    /// error that names the entry.
    #[test]
    fn state_round_trips_and_bad_state_is_a_clear_error() {
        let mut b = balancer("dwa");
        b.end_epoch(&[0.7, 1.3]).unwrap();
        b.end_epoch(&[0.6123457, 1.1]).unwrap();
        let mut extra = BTreeMap::new();
        b.save_state(&mut extra);
        let mut c = balancer("dwa");
        c.load_state(&extra).unwrap();
        let (State::Dwa(x), State::Dwa(y)) = (&b.state, &c.state) else {
            unreachable!()
        };
        assert_eq!(x.weights, y.weights);
        assert_eq!(x.history, y.history);

        let e = balancer("gradnorm")
            .load_state(&BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(GN_WEIGHTS) && e.contains("start the run again"),
            "{e}"
        );
        extra.insert(DWA_WEIGHTS.into(), "1 1 1".into());
        let e = balancer("dwa").load_state(&extra).unwrap_err().to_string();
        assert!(e.contains("3 values for 2 tasks"), "{e}");
        assert!(balancer("fixed").load_state(&BTreeMap::new()).is_ok());
    }
}
