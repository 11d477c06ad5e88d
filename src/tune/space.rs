//! The search space file of `mtrec tune` (`space.toml`, docs/tune.md):
//!
//! ```toml
//! seed = 7                                   # sampling seed (default 0)
//! [objective]
//! task = "income"                            # or: weights = { income = 1.0, marital = 0.5 }
//! metric = "auc"                             # a validation metric of the task(s)
//! direction = "max"                          # default: max for auc, min otherwise
//! [halving]                                  # --strategy halving only
//! min_epochs = 1                             # budget of the lowest rung
//! eta = 3                                    # keep the best 1/eta of a rung
//! [params]                                   # the same dotted keys as `--set`
//! "train.lr" = { log_uniform = [1e-4, 1e-2], points = 3 }
//! "model.num_experts" = { int = [2, 8] }
//! "train.balance" = ["fixed", "uncertainty"] # a list: choices
//! ```
//!
//! Every key is checked against the run config before any trial: each choice and both
//! ends of each range are applied as `--set key=value`, so an unknown key or a value of
//! the wrong type is refused with the `--set` message (which lists the valid keys).

use super::objective::parse_objective;
pub use super::objective::Objective;
use crate::config::RunConfig;
use crate::error::{Error, Result};
use std::path::Path;
use toml::{Table, Value};

/// Where a parameter's values come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    /// One of these values (any TOML value: numbers, strings, lists).
    Choice(Vec<Value>),
    /// A float uniform in `[lo, hi]`; `points` evenly spaced values for `grid`.
    Uniform {
        lo: f64,
        hi: f64,
        points: Option<usize>,
    },
    /// A float whose logarithm is uniform in `[ln lo, ln hi]` (`0 < lo < hi`);
    /// `points` geometrically spaced values for `grid`.
    LogUniform {
        lo: f64,
        hi: f64,
        points: Option<usize>,
    },
    /// A whole number in `lo..=hi` (every `step`-th one).
    Int { lo: i64, hi: i64, step: i64 },
}

/// One searched config key.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Dotted key as for `--set`, e.g. `train.lr`.
    pub key: String,
    pub domain: Domain,
}

/// `[halving]`: successive-halving rungs.
#[derive(Clone, Debug, PartialEq)]
pub struct Halving {
    pub min_epochs: usize,
    pub eta: usize,
}

/// A parsed space file.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    pub seed: u64,
    /// In key order (sorted), so grids and samples do not depend on the file's layout.
    pub params: Vec<Param>,
    pub objective: Objective,
    pub halving: Halving,
}

pub(super) fn err(what: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        what: what.into(),
        message: message.into(),
    }
}

impl Space {
    /// Reads `path` and checks it against `cfg` (the base run config at `config`).
    pub fn from_file(path: &Path, config: &Path, cfg: &RunConfig) -> Result<Space> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the search space ({e}); check the path"),
        })?;
        let space = Space::parse(&text, &path.display().to_string(), cfg)?;
        space.check_keys(config, &path.display().to_string())?;
        Ok(space)
    }

    /// Parses the space text (`origin` names it in messages) and checks the objective
    /// against `cfg`'s tasks. Keys are checked by [`Space::check_keys`].
    pub fn parse(text: &str, origin: &str, cfg: &RunConfig) -> Result<Space> {
        let mut root: Table = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            Error::Input {
                path: origin.to_string(),
                line,
                column,
                what: "search space".into(),
                seen: e.message().to_string(),
                expected: "valid TOML (see docs/tune.md)".into(),
            }
        })?;
        for k in root.keys() {
            if !["seed", "objective", "halving", "params"].contains(&k.as_str()) {
                return Err(err(
                    format!("{origin}: `{k}`"),
                    "unknown top-level key; expected one of seed, objective, halving, params (docs/tune.md)",
                ));
            }
        }
        let seed = match root.remove("seed") {
            None => 0,
            Some(Value::Integer(s)) if s >= 0 => s as u64,
            Some(v) => {
                return Err(err(
                    format!("{origin}: seed"),
                    format!("{v} is not a whole number ≥ 0"),
                ))
            }
        };
        let objective = parse_objective(root.remove("objective"), origin, cfg)?;
        let halving = parse_halving(root.remove("halving"), origin)?;
        let mut params = Vec::new();
        match root.remove("params") {
            Some(Value::Table(t)) => flatten(&t, "", origin, &mut params)?,
            Some(v) => {
                return Err(err(
                    format!("{origin}: params"),
                    format!("is a {}, expected a table of config keys", v.type_str()),
                ))
            }
            None => {}
        }
        if params.is_empty() {
            return Err(err(
                format!("{origin}: [params]"),
                "names no config key to search; add e.g. `\"train.lr\" = { log_uniform = [1e-4, 1e-2] }`",
            ));
        }
        params.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Space {
            seed,
            params,
            objective,
            halving,
        })
    }

    /// Applies every choice and both ends of every range to the config in `config` as
    /// `--set key=value`; the first that fails is reported with the `--set` message,
    /// which names the key and lists the valid keys of its table.
    pub fn check_keys(&self, config: &Path, origin: &str) -> Result<()> {
        for p in &self.params {
            for v in p.domain.probes() {
                let set = format!("{}={}", p.key, v);
                RunConfig::from_file(config, &[set]).map_err(|e| {
                    err(
                        format!("{origin}: params `{}`", p.key),
                        format!(
                            "{e} (the space's keys are the dotted keys of `--set`, docs/config.md)"
                        ),
                    )
                })?;
            }
        }
        Ok(())
    }
}

impl Domain {
    /// The values checked against the config: every choice, both ends of a range.
    fn probes(&self) -> Vec<Value> {
        match self {
            Domain::Choice(vs) => vs.clone(),
            Domain::Uniform { lo, hi, .. } | Domain::LogUniform { lo, hi, .. } => {
                vec![Value::Float(*lo), Value::Float(*hi)]
            }
            Domain::Int { lo, hi, .. } => vec![Value::Integer(*lo), Value::Integer(*hi)],
        }
    }
}

const DOMAIN_KEYS: [&str; 4] = ["choices", "uniform", "log_uniform", "int"];

/// Collects the parameters of `t` (nested tables are dotted paths) into `out`.
fn flatten(t: &Table, prefix: &str, origin: &str, out: &mut Vec<Param>) -> Result<()> {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) if !inner.keys().any(|k| DOMAIN_KEYS.contains(&k.as_str())) => {
                flatten(inner, &key, origin, out)?
            }
            _ => out.push(Param {
                domain: parse_domain(v, &format!("{origin}: params `{key}`"))?,
                key,
            }),
        }
    }
    Ok(())
}

pub(super) fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn pair(v: Option<&Value>, what: &str, name: &str) -> Result<(f64, f64)> {
    let bad = || {
        err(
            what,
            format!("`{name}` must be a list of two numbers [low, high]"),
        )
    };
    let Some(Value::Array(a)) = v else {
        return Err(bad());
    };
    match a.as_slice() {
        [lo, hi] => Ok((float(lo).ok_or_else(bad)?, float(hi).ok_or_else(bad)?)),
        _ => Err(bad()),
    }
}

fn parse_domain(v: &Value, what: &str) -> Result<Domain> {
    let t = match v {
        Value::Array(choices) => return choice(choices.clone(), what),
        Value::Table(t) => t,
        other => {
            return Err(err(
                what,
                format!("{other} is a single value; give a list of choices, or a table with one of choices, uniform, log_uniform, int"),
            ))
        }
    };
    let given: Vec<&str> = t
        .keys()
        .map(String::as_str)
        .filter(|k| DOMAIN_KEYS.contains(k))
        .collect();
    if given.len() != 1 {
        return Err(err(
            what,
            format!(
                "give exactly one of choices, uniform, log_uniform, int (found {})",
                given.join(", ")
            ),
        ));
    }
    for k in t.keys() {
        if !DOMAIN_KEYS.contains(&k.as_str()) && k != "points" && k != "step" {
            return Err(err(what, format!("unknown field `{k}`; expected one of choices, uniform, log_uniform, int, points, step")));
        }
    }
    let points = match t.get("points") {
        None => None,
        Some(Value::Integer(n)) if *n >= 1 => Some(*n as usize),
        Some(v) => {
            return Err(err(
                what,
                format!("points = {v}: expected a whole number ≥ 1"),
            ))
        }
    };
    match given[0] {
        "choices" => match t.get("choices") {
            Some(Value::Array(c)) => choice(c.clone(), what),
            _ => Err(err(what, "`choices` must be a list")),
        },
        "uniform" => {
            let (lo, hi) = pair(t.get("uniform"), what, "uniform")?;
            if lo.is_nan() || hi.is_nan() || lo >= hi {
                return Err(err(
                    what,
                    format!("the range uniform = [{lo}, {hi}] is empty; expected low < high"),
                ));
            }
            Ok(Domain::Uniform { lo, hi, points })
        }
        "log_uniform" => {
            let (lo, hi) = pair(t.get("log_uniform"), what, "log_uniform")?;
            if lo <= 0.0 || hi <= 0.0 {
                return Err(err(what, format!("log_uniform = [{lo}, {hi}] needs bounds > 0 (its logarithm is sampled); use uniform for ranges that include 0")));
            }
            if lo.is_nan() || hi.is_nan() || lo >= hi {
                return Err(err(
                    what,
                    format!("the range log_uniform = [{lo}, {hi}] is empty; expected low < high"),
                ));
            }
            Ok(Domain::LogUniform { lo, hi, points })
        }
        _ => {
            let bad = || {
                err(
                    what,
                    "`int` must be a list of two whole numbers [low, high]",
                )
            };
            let Some(Value::Array(a)) = t.get("int") else {
                return Err(bad());
            };
            let (lo, hi) = match a.as_slice() {
                [Value::Integer(lo), Value::Integer(hi)] => (*lo, *hi),
                _ => return Err(bad()),
            };
            if lo > hi {
                return Err(err(
                    what,
                    format!("the range int = [{lo}, {hi}] is empty; expected low ≤ high"),
                ));
            }
            let step = match t.get("step") {
                None => 1,
                Some(Value::Integer(s)) if *s >= 1 => *s,
                Some(v) => {
                    return Err(err(
                        what,
                        format!("step = {v}: expected a whole number ≥ 1"),
                    ))
                }
            };
            Ok(Domain::Int { lo, hi, step })
        }
    }
}

fn choice(choices: Vec<Value>, what: &str) -> Result<Domain> {
    if choices.is_empty() {
        return Err(err(
            what,
            "the list of choices is empty; give at least one value",
        ));
    }
    Ok(Domain::Choice(choices))
}

fn parse_halving(v: Option<Value>, origin: &str) -> Result<Halving> {
    let what = format!("{origin}: [halving]");
    let mut h = Halving {
        min_epochs: 1,
        eta: 3,
    };
    let Some(v) = v else { return Ok(h) };
    let Value::Table(t) = v else {
        return Err(err(what, "expected a table with min_epochs and eta"));
    };
    for (k, v) in &t {
        let n = match v {
            Value::Integer(n) if *n >= 1 => *n as usize,
            _ => {
                return Err(err(
                    &what,
                    format!("{k} = {v}: expected a whole number ≥ 1"),
                ))
            }
        };
        match k.as_str() {
            "min_epochs" => h.min_epochs = n,
            "eta" if n >= 2 => h.eta = n,
            "eta" => {
                return Err(err(
                    &what,
                    "eta must be ≥ 2 (the best 1/eta of a rung is promoted)",
                ))
            }
            _ => {
                return Err(err(
                    &what,
                    format!("unknown field `{k}`; expected min_epochs or eta"),
                ))
            }
        }
    }
    Ok(h)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}
