//! Issue #14 (s7): the two-tower split per ensemble member. An ensemble of two MMoE
//! members and a Shared-Bottom one: `--two-tower` scores each MMoE member with its own
//! split (the Shared-Bottom member on the plain path, said once), combined by the
//! ensemble's rule: the same lists as `--plain` within 1e-5, in `mtrec recommend` and on
//! the recommend route of `mtrec serve --two-tower`.

// both supports include tests/events_support: two copies, harmless
#![allow(clippy::duplicate_mod)]

mod i14text_support;
mod serve_support;

use i14text_support::{config, ensemble, mtrec, temp_dir, train_member, write_split_events};
use serde_json::json;
use serve_support::Server;
use std::path::Path;

type Listed = (String, String, Vec<f64>);

/// `mtrec recommend --all-users --include-history --k 5 <extra>`: the lists and stderr.
fn lists(dir: &Path, run: &Path, extra: &[&str]) -> (Vec<Listed>, String) {
    let out = dir.join("lists.csv");
    let (d, r, o) = (
        dir.to_str().unwrap(),
        run.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let mut args = vec![
        "recommend",
        "--run",
        r,
        "--data-dir",
        d,
        "--all-users",
        "--include-history",
        "--k",
        "5",
        "--quiet",
        "--force",
        "--output",
        o,
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = mtrec(dir, &args);
    assert!(ok, "mtrec recommend {extra:?} failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let v = f[3..].iter().map(|x| x.parse().unwrap()).collect();
            (f[0].to_string(), f[2].to_string(), v)
        })
        .collect();
    (rows, err)
}

#[test]
fn an_ensemble_scored_with_each_members_two_tower_split_equals_the_plain_path() {
    let dir = temp_dir("s7rectext-ensemble");
    write_split_events(&dir);
    let m0 = dir.join("m0");
    train_member(
        &dir,
        &(config(i14text_support::THREE_TASKS, "mmoe", 1, "") + i14text_support::RECOMMEND),
        &m0,
    );
    let m1 = dir.join("m1");
    train_member(
        &dir,
        &config(i14text_support::THREE_TASKS, "shared_bottom", 2, ""),
        &m1,
    );
    let m2 = dir.join("m2");
    train_member(
        &dir,
        &config(i14text_support::THREE_TASKS, "mmoe", 3, ""),
        &m2,
    );
    let ens = dir.join("ens");
    ensemble(&dir, &[m0, m1, m2], "logit_mean", &ens);

    let (plain, err) = lists(&dir, &ens, &["--plain"]);
    assert!(err.contains(", plain"), "{err}");
    let (split, err) = lists(&dir, &ens, &["--two-tower"]);
    assert!(err.contains("two-tower split"), "{err}");
    assert_eq!(
        err.matches("no two-tower split").count(),
        1,
        "the member without a split is named once: {err}"
    );
    assert!(err.contains("1 (SharedBottom)"), "{err}");
    let (auto, _) = lists(&dir, &ens, &[]);
    assert!(!split.is_empty());
    for other in [&split, &auto] {
        assert_eq!(other.len(), plain.len());
        for (a, b) in other.iter().zip(&plain) {
            assert_eq!((&a.0, &a.1), (&b.0, &b.1), "{a:?} vs plain {b:?}");
            for (x, y) in a.2.iter().zip(&b.2) {
                assert!((x - y).abs() <= 1e-5, "{a:?} vs plain {b:?}");
            }
        }
    }

    // the recommend route of `mtrec serve --two-tower`: the plain lists
    let run_arg = format!("ens={}", ens.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1", "--two-tower"],
    );
    for user in ["3", "11"] {
        let want: Vec<_> = plain.iter().filter(|(u, _, _)| u == user).collect();
        assert_eq!(want.len(), 5);
        let r = server.call(
            "POST",
            "/v1/models/ens/recommend",
            Some(&json!({"user": user, "k": 5, "exclude_history": false}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let items = v["items"].as_array().unwrap();
        for (got, (_, item, values)) in items.iter().zip(&want) {
            assert_eq!(got["item"].as_str().unwrap(), item, "{}", r.text());
            let click = got["tasks"]["click"].as_f64().unwrap();
            assert!((click - values[1]).abs() <= 1e-5, "{click} vs {values:?}");
        }
    }
    assert!(
        server.stderr().contains("no two-tower split"),
        "{}",
        server.stderr()
    );
}
