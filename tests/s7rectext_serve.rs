//! Issue #14 (s7): `mtrec serve` of a run with a text feature. `/v2/models/{name}` says
//! the title is a text input; `/infer` takes the title as a BYTES input, embeds it and
//! scores as `mtrec predict` does on the same rows (one request of many rows, and
//! single-row requests at once); the recommend route gives `mtrec recommend`'s list;
//! a hot reload to another run folder scores as that run.

// both supports include tests/tiny_bert_support or events_support: harmless copies
#![allow(clippy::duplicate_mod)]

mod s7rectext_support;
mod serve_support;

use s7rectext_support::{p, predict_rows, recommend, setup, train, train_into, write_run};
use serde_json::json;
use serve_support::{outputs, Server};

/// An `/infer` body of (user, item, title) rows, every input BYTES.
fn body(rows: &[[String; 3]]) -> String {
    let col = |c: usize| rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>();
    let input = |name: &str, c: usize| json!({"name": name, "shape": [rows.len()], "datatype": "BYTES", "data": col(c)});
    json!({"inputs": [input("user", 0), input("item", 1), input("title", 2)]}).to_string()
}

fn assert_scores(server: &Server, rows: &[[String; 3]], want: &[Vec<f64>]) {
    let r = server.infer("text", &body(rows));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = outputs(&r);
    assert_eq!(got.len(), 2);
    for (t, (name, values)) in got.iter().enumerate() {
        assert_eq!(name, ["click", "rating"][t]);
        for (j, (a, w)) in values.iter().zip(want).enumerate() {
            assert!(
                (a - w[t]).abs() <= 1e-5,
                "{name}, row {j}: {a} vs predict {}",
                w[t]
            );
        }
    }
}

#[test]
fn a_text_run_is_served_as_predict_scores_it_and_as_recommend_lists_it() {
    let (dir, model) = setup("serve");
    write_run(&dir, &model);
    let run = train(&dir);
    let run2 = train_into(&dir, "run2", &["--set", "train.epochs=3"]);
    // the server's recommend route embeds the catalogue through the test's cache
    std::env::set_var("MTREC_CACHE", dir.join("cache"));
    std::env::set_var("MTREC_DATA", &dir);
    let run_arg = format!("text={}", p(&run));
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", p(&dir), "--threads", "1"],
    );

    let meta = server.call("GET", "/v2/models/text", None);
    assert_eq!(meta.status, 200, "{}", meta.text());
    let m = meta.json();
    let title = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "title")
        .unwrap_or_else(|| panic!("no title input: {}", meta.text()));
    assert_eq!(title["datatype"], "BYTES");
    assert_eq!(title["parameters"]["content"], "text", "{}", meta.text());

    // every (user, item) pair with its title, and a new movie with an unseen title
    let mut rows: Vec<[String; 3]> = Vec::new();
    for u in 0..8 {
        for i in 0..6 {
            let t = s7rectext_support::TITLES[i].to_string();
            rows.push([u.to_string(), i.to_string(), t]);
        }
    }
    rows.push(["2".into(), "9".into(), "heat toy story".into()]);
    let want = predict_rows(&dir, &run, &rows);
    assert_scores(&server, &rows, &want);
    std::thread::scope(|s| {
        for (row, w) in rows.iter().zip(&want).take(8) {
            let server = &server;
            s.spawn(move || {
                assert_scores(server, std::slice::from_ref(row), std::slice::from_ref(w))
            });
        }
    });

    // the recommend route: the list of `mtrec recommend` for the same user
    let (cli, _) = recommend(&dir, &run, 4, &[]);
    for user in ["3", "6"] {
        let want: Vec<_> = cli.iter().filter(|(u, _, _)| u == user).collect();
        assert_eq!(want.len(), 4);
        let r = server.call(
            "POST",
            "/v1/models/text/recommend",
            Some(&json!({"user": user, "k": 4, "exclude_history": false}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        for (got, (_, item, tasks)) in items.iter().zip(want) {
            assert_eq!(got["item"].as_str().unwrap(), item, "{}", r.text());
            let click = got["tasks"]["click"].as_f64().unwrap();
            assert!((click - tasks[0]).abs() <= 1e-5, "{click} vs {tasks:?}");
        }
    }

    // hot reload to the second run: /infer scores as that run
    let r = server.call(
        "POST",
        "/v1/admin/reload",
        Some(&json!({"model": "text", "run": p(&run2)}).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let want2 = predict_rows(&dir, &run2, &rows);
    assert!(
        want2
            .iter()
            .zip(&want)
            .any(|(a, b)| (a[0] - b[0]).abs() > 1e-4),
        "the two runs score alike; the reload would not show"
    );
    assert_scores(&server, &rows, &want2);
}
