//! The recommend route's request checking and reply writing on the HTTP tasks, so that
//! the recommender threads only score.
//!
//! ```text
//! HTTP task (tokio, one per connection)          recommender thread
//! ───────────────────────────────────────        ──────────────────────────────
//! body ──typed parse (ids borrowed)──▶ Checked
//!   candidate ids → catalogue indices           Checked ──score, fuse, top-K──▶ Lists
//!   fusion weights → Fusion (400 naming it)
//! Lists ──JSON bytes (catalogue ids, tasks)◀──
//! ```
//!
//! Each MMoE recommender gets a [`Front`]: what checking a request and writing its reply
//! need of the run (the catalogue's id → index map, the tasks, the `[recommend]`
//! defaults), shared by the HTTP tasks. The parse is typed: the 1,000 candidate ids of a
//! request are borrowed from the body and looked up at once, never held as JSON values.
//! A body the typed parse does not take (an error, a duplicate key, …) goes through the
//! JSON value parse of [`super::lists`] instead, so every request gets the same list and
//! every error the same message as before (`tests/s8recserve_front.rs`).

use super::errors::{ApiError, ApiResult};
use super::lists::{parse, Prepared, Query, MAX_K};
use crate::config::recommend::FusionConfig;
use crate::config::TaskConfig;
use crate::recommend::{Fusion, Ranked, Recommender};
use serde::de::{Deserializer, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// What the HTTP side needs of one recommender: built on its thread, shared read-only.
#[derive(Clone, Debug)]
pub struct Front {
    /// Catalogue id → catalogue index.
    index: HashMap<String, u32>,
    /// Catalogue ids by index (the reply's `item`).
    ids: Vec<String>,
    tasks: Vec<TaskConfig>,
    /// Task indices in the order of their names (the reply's `tasks` object).
    task_order: Vec<usize>,
    /// `[recommend]` defaults.
    fusion_cfg: FusionConfig,
    /// `fusion_cfg` checked once (`None`: it fails; each request then gets the reason).
    fusion: Option<Fusion>,
    exclude_history: bool,
}

/// A checked request's list, to be written as JSON on the HTTP side.
#[derive(Clone, Debug, PartialEq)]
pub struct Lists {
    pub user: String,
    pub list: Vec<Ranked>,
    /// Candidates not in the catalogue (written when > 0).
    pub unknown: usize,
}

impl Front {
    /// The front of `r`.
    pub fn of(r: &Recommender) -> Front {
        let ids = r.catalogue.ids.clone();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        let tasks = r.model.cfg.tasks.clone();
        let mut task_order: Vec<usize> = (0..tasks.len()).collect();
        task_order.sort_by(|&a, &b| tasks[a].name.cmp(&tasks[b].name));
        let fusion = Fusion::new(&r.rec.fusion, &tasks).ok();
        Front {
            index,
            ids,
            tasks,
            task_order,
            fusion_cfg: r.rec.fusion.clone(),
            fusion,
            exclude_history: r.rec.exclude_history,
        }
    }

    /// Checks the JSON `body` of a recommend request: the typed parse, or the JSON value
    /// parse where the typed one does not take the body (same result, same errors).
    pub fn check(&self, body: &[u8]) -> ApiResult<Prepared> {
        match serde_json::from_slice::<Wire<'_>>(body) {
            Ok(w) => match self.checked_wire(w) {
                Some(p) => p,
                None => self.check_value(body),
            },
            Err(_) => self.check_value(body),
        }
    }

    /// [`Front::check`] through a JSON value (the reference path; every error message
    /// comes from here).
    pub fn check_value(&self, body: &[u8]) -> ApiResult<Prepared> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("request body is not JSON: {e}")))?;
        let q = parse(&v)?;
        let allow = q.candidates.as_ref().map(|ids| self.indices(ids));
        self.prepared(q, allow)
    }

    /// The typed parse's request, checked; `None` where it would be an error (the value
    /// path then says which).
    fn checked_wire(&self, w: Wire<'_>) -> Option<ApiResult<Prepared>> {
        let k = match w.k {
            None => 10,
            Some(k) if (1..=MAX_K as u64).contains(&k) => k as usize,
            Some(_) => return None,
        };
        let mut features = BTreeMap::new();
        for (name, v) in w.features.unwrap_or_default() {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => n.to_string(),
                _ => return None,
            };
            features.insert(name, text);
        }
        let allow = match &w.candidates {
            None => None,
            Some(c) if c.is_empty() => return None,
            Some(c) => Some(self.indices(c)),
        };
        let q = Query {
            user: w.user.0.into_owned(),
            features,
            candidates: None,
            k,
            fusion: w.fusion,
            exclude_history: w.exclude_history,
        };
        Some(self.prepared(q, allow))
    }

    /// Catalogue indices of `ids`, and how many are not in the catalogue.
    fn indices<S: AsRef<str>>(&self, ids: &[S]) -> (Vec<u32>, usize) {
        let mut out = Vec::with_capacity(ids.len());
        let mut unknown = 0;
        for id in ids {
            match self.index.get(id.as_ref()) {
                Some(&i) => out.push(i),
                None => unknown += 1,
            }
        }
        (out, unknown)
    }

    /// The fusion (the request's, else the run's) and the defaults, as `lists::prepare`.
    fn prepared(&self, mut q: Query, allow: Option<(Vec<u32>, usize)>) -> ApiResult<Prepared> {
        let fusion = match (q.fusion.as_ref(), &self.fusion) {
            (None, Some(f)) => f.clone(),
            (cfg, _) => Fusion::new(cfg.unwrap_or(&self.fusion_cfg), &self.tasks)
                .map_err(|e| ApiError::bad_request(format!("`fusion`: {e}")))?,
        };
        if let Some((found, unknown)) = &allow {
            if found.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "`candidates`: none of the {unknown} ids is in the catalogue"
                )));
            }
        }
        // the ids are now `allow`; the thread needs only the indices
        q.candidates = None;
        let exclude_history = q.exclude_history.unwrap_or(self.exclude_history);
        Ok(Prepared {
            q,
            fusion,
            allow,
            exclude_history,
        })
    }

    /// The reply of `model` to a checked request: the JSON that `lists::reply` builds,
    /// as bytes (keys in the same order, numbers as the same f64 values).
    pub fn write(&self, model: &str, l: &Lists) -> Vec<u8> {
        let reply = Reply {
            front: self,
            model,
            lists: l,
        };
        let mut out = Vec::with_capacity(128 + 96 * l.list.len());
        serde_json::to_writer(&mut out, &reply).expect("writing JSON to memory");
        out
    }
}

/// An id as the value path takes it: a non-empty string, or an integer as its text.
struct Id<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-empty string or an integer")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Id<'de>, E> {
                if s.is_empty() {
                    return Err(E::custom("empty id"));
                }
                Ok(Id(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Id<'de>, E> {
                if s.is_empty() {
                    return Err(E::custom("empty id"));
                }
                Ok(Id(Cow::Owned(s.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Id<'de>, E> {
                Ok(Id(Cow::Owned(n.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Id<'de>, E> {
                Ok(Id(Cow::Owned(n.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl AsRef<str> for Id<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A recommend request as the typed parse reads it (`lists`' module doc has the fields).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow)]
    user: Id<'a>,
    #[serde(default)]
    features: Option<Map<String, Value>>,
    #[serde(borrow, default)]
    candidates: Option<Vec<Id<'a>>>,
    #[serde(default)]
    k: Option<u64>,
    #[serde(default)]
    fusion: Option<FusionConfig>,
    #[serde(default)]
    exclude_history: Option<bool>,
}

/// A task value or score as `serde_json::json!(f32)` writes it: the f64 of the f32,
/// `null` when not finite.
fn number(x: f32) -> Option<f64> {
    x.is_finite().then_some(x as f64)
}

struct Reply<'a> {
    front: &'a Front,
    model: &'a str,
    lists: &'a Lists,
}

struct Items<'a>(&'a Front, &'a [Ranked]);
struct Item<'a>(&'a Front, usize, &'a Ranked);
struct Tasks<'a>(&'a Front, &'a [f32]);

// keys in sorted order, as serde_json's `Map` (no `preserve_order`) writes `json!`'s
impl Serialize for Reply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("items", &Items(self.front, &self.lists.list))?;
        m.serialize_entry("model_name", self.model)?;
        if self.lists.unknown > 0 {
            m.serialize_entry("unknown_candidates", &self.lists.unknown)?;
        }
        m.serialize_entry("user", &self.lists.user)?;
        m.end()
    }
}

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.1.len()))?;
        for (rank, x) in self.1.iter().enumerate() {
            q.serialize_element(&Item(self.0, rank, x))?;
        }
        q.end()
    }
}

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Item(front, rank, x) = *self;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("item", &front.ids[x.item as usize])?;
        m.serialize_entry("rank", &(rank + 1))?;
        m.serialize_entry("score", &number(x.score))?;
        m.serialize_entry("tasks", &Tasks(front, &x.tasks))?;
        m.end()
    }
}

impl Serialize for Tasks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for &t in &self.0.task_order {
            if let Some(&v) = self.1.get(t) {
                m.serialize_entry(&self.0.tasks[t].name, &number(v))?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_borrow_from_the_body_unless_escaped() {
        let body = br#"{"user": 7, "candidates": ["12", "a\u0062", 3]}"#;
        let w: Wire<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(w.user.0, "7");
        let c = w.candidates.unwrap();
        assert!(matches!(c[0].0, Cow::Borrowed("12")));
        assert!(matches!(c[1].0, Cow::Owned(ref s) if s == "ab"));
        assert_eq!(c[2].0, "3");
        for bad in [
            &br#"{"user": ""}"#[..],
            br#"{"user": 1.5}"#,
            br#"{"user": "1", "x": 1}"#,
            br#"{"user": "1", "k": -1}"#,
            br#"{"user": "1", "candidates": [true]}"#,
        ] {
            assert!(serde_json::from_slice::<Wire<'_>>(bad).is_err());
        }
    }
}
