//! `run_info.json`: who ran the run and where. One entry per invocation (a `--resume`
//! appends one), each with the command line, mtrec's version and the git commit it was
//! built from, the machine (host, OS, CPU, cores) and the worker threads. `mtrec report`
//! shows it beside the config.

use super::persist::write_atomic;
use crate::error::Result;
use serde_json::{json, Value};
use std::path::Path;

/// The file's name in a run folder.
pub const RUN_INFO: &str = "run_info.json";

/// This process: command line, version, commit, machine, threads, start time.
pub fn invocation(resume: bool) -> Value {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    json!({
        "command_line": std::env::args().collect::<Vec<_>>(),
        "mtrec_version": env!("CARGO_PKG_VERSION"),
        "commit": env!("MTREC_COMMIT"),
        "host": read_trimmed("/proc/sys/kernel/hostname").or_else(|| read_trimmed("/etc/hostname")),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": cpu_model(),
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "threads": rayon::current_num_threads(),
        "started_unix": started,
        "resume": resume,
    })
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The CPU's model name from `/proc/cpuinfo` (Linux); `None` elsewhere.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Writes `<out>/run_info.json`: a fresh run starts the list, `--resume` appends to it.
pub fn write_run_info(out: &Path, resume: bool) -> Result<()> {
    let path = out.join(RUN_INFO);
    let mut list: Vec<Value> = if resume {
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v.get("invocations").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    list.push(invocation(resume));
    let text = serde_json::to_string_pretty(&json!({ "invocations": list })).unwrap_or_default();
    write_atomic(&path, &(text + "\n"))
}
