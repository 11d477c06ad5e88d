//! `mtrec serve` of an ensemble folder: `/infer` equals `mtrec predict` on the ensemble
//! (members with different features, batched requests), and the recommend route equals
//! `mtrec recommend` on it.

// both supports include tests/events_support (write_events, temp_dir): two copies, harmless
#![allow(clippy::duplicate_mod)]

mod i14text_support;
mod serve_support;

use i14text_support::{ensemble, members, recommend, temp_dir, write_split_events};
use serde_json::json;
use serve_support::{event_rows, infer_body, outputs, predict_scores, Server};

#[test]
fn serving_an_ensemble_scores_as_predict_and_recommends_as_recommend() {
    let dir = temp_dir("i14text-serve");
    write_split_events(&dir);
    let runs = members(&dir);
    let ens = dir.join("ens");
    ensemble(&dir, &runs, "logit_mean", &ens);
    let run_arg = format!("ens={}", ens.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );

    // /infer: one request of many rows, and several single-row requests at once
    let rows = event_rows(&dir, 0..40);
    let want = predict_scores(&dir, &ens, &rows);
    let r = server.infer("ens", &infer_body(&rows));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = outputs(&r);
    assert_eq!(got.len(), 3);
    for ((gn, gv), (wn, wv)) in got.iter().zip(&want) {
        assert_eq!(gn, wn);
        for (a, b) in gv.iter().zip(wv) {
            assert!((a - b).abs() < 1e-5, "{gn}: {gv:?} vs predict {wv:?}");
        }
    }
    std::thread::scope(|s| {
        for (i, row) in rows.iter().enumerate().take(8) {
            let (server, want) = (&server, &want);
            s.spawn(move || {
                let r = server.infer("ens", &infer_body(std::slice::from_ref(row)));
                assert_eq!(r.status, 200, "{}", r.text());
                for ((_, gv), (_, wv)) in outputs(&r).iter().zip(want) {
                    assert!((gv[0] - wv[i]).abs() < 1e-5, "row {i}: {gv:?} vs {}", wv[i]);
                }
            });
        }
    });

    // the recommend route: the list of `mtrec recommend` for the same user
    let cli = recommend(&dir, &ens, 5, &[]);
    for user in ["3", "11"] {
        let want: Vec<_> = cli.iter().filter(|(u, _, _)| u == user).collect();
        assert_eq!(want.len(), 5);
        let r = server.call(
            "POST",
            "/v1/models/ens/recommend",
            Some(&json!({"user": user, "k": 5, "exclude_history": false}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        for (got, (_, item, tasks)) in items.iter().zip(want) {
            assert_eq!(got["item"].as_str().unwrap(), item, "{}", r.text());
            let click = got["tasks"]["click"].as_f64().unwrap();
            assert!((click - tasks[0]).abs() < 2e-5, "{click} vs {tasks:?}");
        }
    }
}
