//! Prometheus metrics in the text exposition format (`GET /metrics`): requests by route
//! and status code, request latency, batch sizes (rows and requests per forward pass),
//! queue depth per model and reloads. Counters are atomics or short mutexes; rendering
//! takes a snapshot.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A cumulative histogram with fixed upper bounds.
pub struct Histogram {
    bounds: Vec<f64>,
    data: Mutex<HistData>,
}

#[derive(Default, Clone)]
struct HistData {
    counts: Vec<u64>, // (bounds + 1,): per bucket, the last is +Inf
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Histogram {
        Histogram {
            bounds: bounds.to_vec(),
            data: Mutex::new(HistData {
                counts: vec![0; bounds.len() + 1],
                ..Default::default()
            }),
        }
    }

    pub fn observe(&self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.bounds.len());
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.counts[i] += 1;
        data.sum += v;
        data.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (b, c) in self.bounds.iter().zip(&data.counts) {
            cum += c;
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", data.count);
        let _ = writeln!(out, "{name}_sum {}", data.sum);
        let _ = writeln!(out, "{name}_count {}", data.count);
    }
}

/// Everything `/metrics` reports.
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Histogram,
    batch_rows: Histogram,
    batch_requests: Histogram,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    inline: AtomicU64,
    /// Connections accepted, by the HTTP thread they were handed to ([`super::http`]).
    connections: Mutex<Vec<u64>>,
    /// Busy-poll windows that closed with no new reply ([`super::busy_poll`]).
    busy_poll_expired: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let pow2: Vec<f64> = (0..13).map(|i| (1u64 << i) as f64).collect(); // 1 .. 4096
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            latency: Histogram::new(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            batch_rows: Histogram::new(&pow2),
            batch_requests: Histogram::new(&pow2[..9]),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            inline: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
            busy_poll_expired: AtomicU64::new(0),
        }
    }

    /// One answered request: its route (a fixed name, never a client's text), status
    /// code and time from arrival to reply.
    pub fn request(&self, route: &'static str, code: u16, seconds: f64) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route, code)).or_insert(0) += 1;
        drop(m);
        self.latency.observe(seconds);
    }

    /// One forward pass of `rows` rows gathered from `requests` requests.
    pub fn batch(&self, rows: usize, requests: usize) {
        self.batch_rows.observe(rows as f64);
        self.batch_requests.observe(requests as f64);
    }

    /// One request scored inline, in its HTTP task (the batcher's queue was empty).
    pub fn inline_pass(&self) {
        self.inline.fetch_add(1, Ordering::Relaxed);
    }

    /// One connection accepted and handed to HTTP thread `thread` (once per
    /// connection, not per request).
    pub fn connection(&self, thread: usize) {
        let mut c = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if c.len() <= thread {
            c.resize(thread + 1, 0);
        }
        c[thread] += 1;
    }

    /// One busy-poll window of an HTTP thread closed with no new reply written in it
    /// (it spun at most `--busy-poll-us` since the last reply).
    pub fn busy_poll_expired(&self) {
        self.busy_poll_expired.fetch_add(1, Ordering::Relaxed);
    }

    /// How many busy-poll windows have closed so far.
    pub fn busy_poll_expired_count(&self) -> u64 {
        self.busy_poll_expired.load(Ordering::Relaxed)
    }

    pub fn reloads(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition; `queues` is (model, requests waiting) per model.
    pub fn render(&self, queues: &[(String, usize)]) -> String {
        let mut out = String::new();
        let name = "mtrec_http_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP requests answered, by route and status code.\n# TYPE {name} counter"
        );
        let m = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for ((route, code), n) in m {
            let _ = writeln!(out, "{name}{{route=\"{route}\",code=\"{code}\"}} {n}");
        }
        self.latency.render(
            &mut out,
            "mtrec_http_request_duration_seconds",
            "Time from a request's arrival to its reply.",
        );
        self.batch_rows.render(
            &mut out,
            "mtrec_batch_rows",
            "Rows per forward pass of the micro-batcher.",
        );
        self.batch_requests.render(
            &mut out,
            "mtrec_batch_requests",
            "Requests merged into one forward pass.",
        );
        let name = "mtrec_queue_depth";
        let _ = writeln!(
            out,
            "# HELP {name} Requests waiting for the model's batcher.\n# TYPE {name} gauge"
        );
        for (model, depth) in queues {
            let _ = writeln!(out, "{name}{{model=\"{}\"}} {depth}", escape(model));
        }
        let name = "mtrec_model_reloads_total";
        let _ = writeln!(
            out,
            "# HELP {name} Model reloads, by result.\n# TYPE {name} counter"
        );
        let ok = self.reloads_ok.load(Ordering::Relaxed);
        let failed = self.reloads_failed.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}{{result=\"ok\"}} {ok}");
        let _ = writeln!(out, "{name}{{result=\"failed\"}} {failed}");
        let name = "mtrec_inline_passes_total";
        let _ = writeln!(
            out,
            "# HELP {name} Inference requests scored in their HTTP task, the batcher's queue being empty.\n# TYPE {name} counter"
        );
        let _ = writeln!(out, "{name} {}", self.inline.load(Ordering::Relaxed));
        let name = "mtrec_http_connections_total";
        let _ = writeln!(
            out,
            "# HELP {name} Connections accepted, by the HTTP thread serving them (--http-threads; handed out in turn).\n# TYPE {name} counter"
        );
        let c = self
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (thread, n) in c.iter().enumerate() {
            let _ = writeln!(out, "{name}{{thread=\"{thread}\"}} {n}");
        }
        let name = "mtrec_http_busy_poll_expired_total";
        let _ = writeln!(
            out,
            "# HELP {name} Busy-poll windows of the HTTP threads that closed with no new request answered (each spun at most --busy-poll-us).\n# TYPE {name} counter"
        );
        let _ = writeln!(out, "{name} {}", self.busy_poll_expired_count());
        out
    }
}

/// A label value as Prometheus reads it (backslash, quote and newline escaped).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.batch(1, 1);
        m.batch(3, 2);
        m.batch(5000, 9);
        let text = m.render(&[("a\"b".into(), 2)]);
        assert!(
            text.contains("mtrec_batch_rows_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("mtrec_batch_rows_bucket{le=\"4\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("mtrec_batch_rows_bucket{le=\"4096\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("mtrec_batch_rows_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("mtrec_batch_rows_sum 5004\n"), "{text}");
        assert!(
            text.contains("mtrec_queue_depth{model=\"a\\\"b\"} 2\n"),
            "{text}"
        );
    }
}
