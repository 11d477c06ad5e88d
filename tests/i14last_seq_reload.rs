//! Hot reload of a served `mtrec seq` (SASRec) run (issue #14): the admin call swaps in
//! another run folder (the lists are then those of a server started on it), a folder
//! that does not load is a 422 and the old model keeps serving, and SIGHUP reloads
//! every model (seq ones too) from its folder.

mod cli_support;
mod serve_support;

use serde_json::{json, Value};
use serve_support::{wait_until, Server};
use std::path::{Path, PathBuf};

fn config(seed: u64) -> String {
    format!(
        "[data]\ndataset = \"amazon-beauty\"\ndir = \"beauty-tiny\"\nseed = 7\nmax_len = 6\n\
[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\n\
[train]\nepochs = 2\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = {seed}\n"
    )
}

fn train(root: &Path, data: &Path, name: &str, seed: u64) -> PathBuf {
    let cfg = root.join(format!("{name}.toml"));
    std::fs::write(&cfg, config(seed)).unwrap();
    let run = root.join(name);
    cli_support::seq_train(&cfg, data, &run);
    run
}

fn items(reply: &Value) -> Value {
    assert!(reply["items"].is_array(), "{reply}");
    reply["items"].clone()
}

#[test]
fn a_seq_run_is_hot_reloaded_and_a_broken_folder_keeps_the_old_model() {
    let root = std::env::temp_dir().join(format!("mtrec-i14last-seqreload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    cli_support::write_beauty_tiny(&data, 40);
    let a = train(&root, &data, "run_a", 3);
    let b = train(&root, &data, "run_b", 11);
    let data_arg = data.to_str().unwrap();
    let server = Server::start(
        &root,
        &[&format!("sas={}", a.display())],
        &["--data-dir", data_arg, "--threads", "1"],
    );
    let on_b = Server::start(
        &root,
        &[&format!("sas={}", b.display())],
        &["--data-dir", data_arg, "--threads", "1"],
    );
    let ask = |s: &Server, user: &str| {
        let r = s.call(
            "POST",
            "/v1/models/sas/recommend",
            Some(&json!({ "user": user, "k": 8 }).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        items(&r.json())
    };
    // users with long sequences (8 to 11 items) in the tiny data
    let users: Vec<String> = [5, 6, 7, 8, 15, 16]
        .iter()
        .map(|u| format!("U{u:03}"))
        .collect();
    let from_a: Vec<Value> = users.iter().map(|u| ask(&server, u)).collect();
    let from_b: Vec<Value> = users.iter().map(|u| ask(&on_b, u)).collect();
    assert_ne!(from_a, from_b, "two seeds give other lists");

    // a folder that does not load: 422 with the reason, the old model serves on
    let broken = root.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::copy(b.join("config.toml"), broken.join("config.toml")).unwrap();
    let reload = |body: Value| server.call("POST", "/v1/admin/reload", Some(&body.to_string()));
    let r = reload(json!({ "model": "sas", "run": broken }));
    assert_eq!(r.status, 422, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("still serving") && e.contains("broken"), "{e}");
    assert!(
        wait_until(10.0, || server.stderr().contains("still serving")),
        "logged: {}",
        server.stderr()
    );
    for (u, want) in users.iter().zip(&from_a) {
        assert_eq!(&ask(&server, u), want, "{u} after a failed reload");
    }

    // the other run folder: its lists from now on, and the metadata names it
    let r = reload(json!({ "model": "sas", "run": b }));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["reloaded"][0]["model"], "sas");
    for (u, want) in users.iter().zip(&from_b) {
        assert_eq!(&ask(&server, u), want, "{u} after the reload");
    }
    let m = server.call("GET", "/v2/models/sas", None).json();
    assert_eq!(
        m["parameters"]["run"].as_str().unwrap(),
        b.display().to_string()
    );

    // SIGHUP: every model from its folder (now run_b); still run_b's lists
    server.signal("HUP");
    assert!(
        wait_until(30.0, || server
            .stderr()
            .matches("model `sas` reloaded from")
            .count()
            >= 2),
        "{}",
        server.stderr()
    );
    for (u, want) in users.iter().zip(&from_b) {
        assert_eq!(&ask(&server, u), want, "{u} after SIGHUP");
    }
    // the empty admin call reloads every model, the seq one included
    let r = server.call("POST", "/v1/admin/reload", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["reloaded"][0]["model"], "sas");
    let metrics = server.call("GET", "/metrics", None).text();
    assert!(
        metrics.contains("mtrec_model_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
