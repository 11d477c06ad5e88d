//! The small interaction log of the interactions-loader tests, and their scratch folders.
#![allow(dead_code)]

use std::path::PathBuf;

/// 11 events (`user,item,behaviour,time`), 4 users, items a..e in order of first event.
/// Leave-last-out: training pairs u1-a, u2-a (pv, buy), u3-a, u4-d; valid u1-b, u2-c;
/// test u1-c, u2-d, u4-e (all pv).
pub const LOG: &str = "u1,a,pv,1
u1,b,pv,2
u1,b,buy,3
u1,c,pv,5
u2,a,pv,1
u2,c,pv,2
u2,d,pv,3
u2,a,buy,4
u3,a,pv,7
u4,d,pv,1
u4,e,pv,2
";

/// An empty folder `mtrec-<prefix>-<tag>-<pid>` under the system's temp folder.
pub fn temp_dir(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-{prefix}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `[data]` head of the click / buy test runs over a `log.csv` of `user,item,
/// behavior,time` events (`pv` → click, `buy` → buy); a config goes on with its own
/// `[data.negatives]` and `[data.ranking]`, then [`CLICK_BUY_INPUTS`].
pub const CLICK_BUY_DATA: &str = r#"[data]
files = ["log.csv"]
loader = "interactions"
[data.interactions]
fields = ["user", "item", "behavior", "time"]
behaviors = ["pv", "buy"]
labels = ["click", "buy"]
"#;

/// User and item ids (width 4), the click and buy tasks, and the loader's `set` column as
/// the split: what the click / buy test runs share between their data and model sections.
pub const CLICK_BUY_INPUTS: &str = r#"[[features]]
name = "user_id"
kind = "categorical"
dim = 4
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"
[split]
kind = "column"
column = "set"
"#;
