//! What the `mtrec serve` tests share (`mod serve_support;`): a tiny trained run, the
//! server as a child process on 127.0.0.1:0, and request bodies from rows.

#![allow(dead_code)] // each test file uses a part

use mtrec::serve::client::{self, Reply};
use mtrec::train::run::{train, RunOptions};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

#[path = "../events_support/mod.rs"]
mod events_support;
#[allow(unused_imports)] // each test file uses a part
pub use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// events.csv and a run trained on it (MMoE on click, buy, watch; `epochs` epochs,
/// train seed `seed`) in `dir/<name>`.
pub fn train_run(dir: &Path, name: &str, epochs: usize, seed: u64) -> PathBuf {
    if !dir.join("events.csv").is_file() {
        write_events(dir);
    }
    let cfg = events_config(THREE_TASKS, epochs, "").replace("seed = 3", &format!("seed = {seed}"));
    let cfg_path = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg_path, cfg).unwrap();
    let out = dir.join(name);
    train(&RunOptions {
        config: cfg_path,
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: out.clone(),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    })
    .unwrap();
    out
}

/// The feature columns of events.csv rows `rows`: (user, item, price, genres).
pub fn event_rows(dir: &Path, rows: std::ops::Range<usize>) -> Vec<[String; 4]> {
    let text = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    text.lines()
        .skip(1 + rows.start)
        .take(rows.len())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [f[0], f[1], f[2], f[3]].map(str::to_string)
        })
        .collect()
}

/// An inference request body for `rows`.
pub fn infer_body(rows: &[[String; 4]]) -> String {
    let col = |i: usize| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|r| serde_json::Value::String(r[i].clone()))
            .collect()
    };
    let price: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    let n = rows.len();
    serde_json::json!({ "inputs": [
        { "name": "user", "shape": [n], "datatype": "BYTES", "data": col(0) },
        { "name": "item", "shape": [n], "datatype": "BYTES", "data": col(1) },
        { "name": "price", "shape": [n], "datatype": "FP32", "data": price },
        { "name": "genres", "shape": [n], "datatype": "BYTES", "data": col(3) },
    ]})
    .to_string()
}

/// `mtrec serve` as a child; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mtrec")
}

impl Server {
    /// Starts `mtrec serve --run <runs>... --addr 127.0.0.1:0 --token-file ... <extra>`
    /// and waits for its `listening on` line.
    pub fn start(dir: &Path, runs: &[&str], extra: &[&str]) -> Server {
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("serve");
        for r in runs {
            cmd.args(["--run", r]);
        }
        cmd.args(["--addr", "127.0.0.1:0", "--token-file"])
            .arg(&token_file)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn mtrec serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            std::thread::sleep(std::time::Duration::from_millis(100));
            panic!(
                "first stdout line {line:?}; stderr: {}",
                stderr.lock().unwrap()
            );
        };
        let addr: SocketAddr = addr.parse().unwrap();
        assert!(addr.ip().is_loopback());
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A request with the right token.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        client::once(
            self.addr,
            Some(TOKEN),
            method,
            path,
            body.map(str::as_bytes),
        )
        .unwrap()
    }

    /// `POST /v2/models/{model}/infer`.
    pub fn infer(&self, model: &str, body: &str) -> Reply {
        self.call("POST", &format!("/v2/models/{model}/infer"), Some(body))
    }

    /// Sends a signal (`TERM`, `HUP`) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outputs of an inference reply: task → scores.
pub fn outputs(reply: &Reply) -> Vec<(String, Vec<f64>)> {
    let v = reply.json();
    v["outputs"]
        .as_array()
        .unwrap_or_else(|| panic!("no outputs in {}", reply.text()))
        .iter()
        .map(|o| {
            let data = o["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            (o["name"].as_str().unwrap().to_string(), data)
        })
        .collect()
}

/// Scores of `rows` by `mtrec predict` on `run`: one Vec per task, in column order.
pub fn predict_scores(dir: &Path, run: &Path, rows: &[[String; 4]]) -> Vec<(String, Vec<f64>)> {
    let mut csv = String::from("user,item,price,genres\n");
    for r in rows {
        csv.push_str(&r.join(","));
        csv.push('\n');
    }
    let input = dir.join("predict_in.csv");
    let output = dir.join("predict_out.csv");
    std::fs::write(&input, csv).unwrap();
    let st = Command::new(bin())
        .args(["predict", "--run"])
        .arg(run)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .arg("--force") // called more than once per folder
        .arg("--no-keys") // only `line` and one column per task
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols = vec![Vec::new(); names.len()];
    for l in lines {
        for (c, v) in cols.iter_mut().zip(l.split(',')) {
            c.push(v.parse::<f64>().unwrap());
        }
    }
    // the first column is the input line, the rest one per task
    names
        .into_iter()
        .zip(cols)
        .filter(|(n, _)| n != "line")
        .collect()
}

/// Polls `f` until it is true or `secs` pass.
pub fn wait_until(secs: f64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

impl Server {
    /// Each of `rows` sent alone, one request at a time, to `model`: every task's score
    /// equals `want` (the rows' `mtrec predict` scores, [`predict_scores`]) within 1e-6.
    pub fn assert_rows_score_as_predict(
        &self,
        model: &str,
        rows: &[[String; 4]],
        want: &[(String, Vec<f64>)],
    ) {
        for (i, row) in rows.iter().enumerate() {
            let r = self.infer(model, &infer_body(std::slice::from_ref(row)));
            assert_eq!(r.status, 200, "{}", r.text());
            for ((task, got), (_, all)) in outputs(&r).iter().zip(want) {
                assert!(
                    (got[0] - all[i]).abs() <= 1e-6,
                    "{task} row {i}: {} vs {}",
                    got[0],
                    all[i]
                );
            }
        }
    }

    /// Waits (at most 10 s) for the server to exit after a signal; asserts it exited
    /// with success.
    pub fn wait_exit(&mut self) {
        let t = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(10),
                "still running after the signal"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.success(), "exit status {status}");
        // the stderr reader catches up
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `POST /v2/models/{model}/infer` of `body` to `addr`, on a thread of its own.
pub fn infer_in_thread(
    addr: SocketAddr,
    model: &str,
    body: String,
) -> std::thread::JoinHandle<Reply> {
    let path = format!("/v2/models/{model}/infer");
    std::thread::spawn(move || {
        client::once(addr, Some(TOKEN), "POST", &path, Some(body.as_bytes())).unwrap()
    })
}

/// A run of the serving tests (`train_run(dir, "run", 1, 3)`) to serve as model `m`,
/// rows of the events table and their `mtrec predict` scores.
pub struct ScoredRun {
    pub dir: PathBuf,
    pub run: PathBuf,
    /// `m=<run>`: the `--run` argument of [`Server::start`].
    pub run_arg: String,
    pub rows: Vec<[String; 4]>,
    /// [`predict_scores`] of `rows`.
    pub want: Vec<(String, Vec<f64>)>,
}

/// [`ScoredRun`] in a fresh folder `tag`, with the events rows `rows`.
pub fn scored_run(tag: &str, rows: std::ops::Range<usize>) -> ScoredRun {
    let dir = temp_dir(tag);
    let run = train_run(&dir, "run", 1, 3);
    let rows = event_rows(&dir, rows);
    let want = predict_scores(&dir, &run, &rows);
    let run_arg = format!("m={}", run.display());
    ScoredRun {
        dir,
        run,
        run_arg,
        rows,
        want,
    }
}
