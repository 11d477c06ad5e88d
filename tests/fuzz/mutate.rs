//! The mutation engine of `tests/fuzz.rs`: seeds from `tests/fuzz/corpus/<target>/`,
//! mutated with a seeded xorshift stream (so a failing case is reproduced by its seed),
//! and each case run on its own thread with a time bound.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// xorshift64*: a small, seeded, reproducible stream.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n ≥ 1`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Texts that break parsers: huge and odd numbers, quotes, NUL, invalid UTF-8, line
/// ends, delimiters, TOML and JSON syntax.
const TOKENS: &[&[u8]] = &[
    b"99999999999999999999999999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1e309",
    b"-0",
    b"NaN",
    b"inf",
    b"0x7fffffff",
    b"\"",
    b"\"\"",
    b"'",
    b"\0",
    b"\xff\xfe",
    b"\x80",
    b"\xc3",
    b"\xf0\x9f\x98",
    b"\r\n",
    b"\n",
    b"\r",
    b",",
    b"\t",
    b"|",
    b"[",
    b"]",
    b"[[",
    b"{",
    b"}",
    b"=",
    b"#",
    b"\\",
    b"\\u0000",
    b"1000000000",
    b"4294967296",
    b"[1000000000]",
    b"\xe2\x80\x8b",
    b"##",
    b"[UNK]",
];

/// One random mutation of `data` (in place).
pub fn mutate_once(data: &mut Vec<u8>, rng: &mut Rng) {
    let n = data.len();
    match rng.below(10) {
        // flip a bit
        0 if n > 0 => {
            let i = rng.below(n);
            data[i] ^= 1 << rng.below(8);
        }
        // set a byte to anything
        1 if n > 0 => {
            let i = rng.below(n);
            data[i] = rng.next() as u8;
        }
        // truncate
        2 => data.truncate(rng.below(n + 1)),
        // insert a nasty token
        3 | 4 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            let i = rng.below(n + 1);
            data.splice(i..i, t.iter().copied());
        }
        // delete a range
        5 if n > 0 => {
            let i = rng.below(n);
            let j = (i + 1 + rng.below(16)).min(n);
            data.drain(i..j);
        }
        // duplicate a line (a row, a key, a table header)
        6 => {
            let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            let l = lines[rng.below(lines.len())].to_vec();
            let at = rng.below(lines.len() + 1);
            let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
            out.insert(at, l);
            *data = out.join(&b'\n');
        }
        // duplicate a field of a line (`a,b` → `a,b,b`)
        7 => {
            let seps = [b',', b'\t', b'|', b' ', b'='];
            let sep = seps[rng.below(seps.len())];
            let fields: Vec<usize> = (0..n).filter(|&i| data[i] == sep).collect();
            if let Some(&i) = fields.get(rng.below(fields.len().max(1))) {
                let j = (i + 1..n)
                    .find(|&k| data[k] == sep || data[k] == b'\n')
                    .unwrap_or(n);
                let copy = data[i..j].to_vec();
                data.splice(j..j, copy);
            }
        }
        // repeat a chunk (long lines, long words)
        8 if n > 0 => {
            let i = rng.below(n);
            let j = (i + 1 + rng.below(8)).min(n);
            let chunk = data[i..j].repeat(1 + rng.below(200));
            data.splice(j..j, chunk);
        }
        // swap two bytes
        _ if n > 1 => {
            let (i, j) = (rng.below(n), rng.below(n));
            data.swap(i, j);
        }
        _ => data.push(rng.next() as u8),
    }
}

/// 1 to 8 mutations of `seed`.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        mutate_once(&mut data, rng);
    }
    data
}

/// The seed files of `target`, sorted by name.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no seed corpus at {}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty seed corpus {}", dir.display());
    out
}

/// How long (`MTREC_FUZZ_SECS`, seconds per target) or, unset, how many cases to run.
pub enum Budget {
    Cases(usize),
    Time(Duration),
}

pub fn budget(default_cases: usize) -> Budget {
    match std::env::var("MTREC_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(s) if s > 0.0 => Budget::Time(Duration::from_secs_f64(s)),
        _ => Budget::Cases(default_cases),
    }
}

/// Most seconds one case may take (`MTREC_FUZZ_CASE_SECS`, default 10): longer is a hang.
fn case_limit() -> Duration {
    let s = std::env::var("MTREC_FUZZ_CASE_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(10.0);
    Duration::from_secs_f64(s)
}

/// Where a failing input is written: `target/fuzz-failures/<target>-<case>.bin`.
fn failure_path(target: &str, case: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{target}-{case}.bin"))
}

/// Runs `check` on mutations of the corpus of `target` within `budget` (seeds first,
/// unmutated). `check` returns `Err(text)` for a broken property; a panic, a broken
/// property or a case over the time bound fails the test, naming the case seed and
/// saving the input. `MTREC_FUZZ_SEED` offsets the case seeds (a different run).
pub fn run<F>(target: &str, budget: Budget, check: F)
where
    F: Fn(Vec<u8>) -> Result<(), String> + Send + Sync + Clone + 'static,
{
    run_with(target, budget, case_limit(), check)
}

/// [`run`] with `limit` per case.
pub fn run_with<F>(target: &str, budget: Budget, limit: Duration, check: F)
where
    F: Fn(Vec<u8>) -> Result<(), String> + Send + Sync + Clone + 'static,
{
    let seeds = corpus(target);
    let base: u64 = std::env::var("MTREC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let start = Instant::now();
    let mut case: u64 = 0;
    loop {
        let done = match budget {
            Budget::Cases(n) => case as usize >= n,
            Budget::Time(t) => start.elapsed() >= t,
        };
        if done {
            break;
        }
        let seed_no = case as usize % seeds.len();
        let input = if (case as usize) < seeds.len() {
            seeds[seed_no].1.clone()
        } else {
            mutate(&seeds[seed_no].1, &mut Rng::new(base.wrapping_add(case)))
        };
        let (tx, rx) = mpsc::channel();
        let (f, data) = (check.clone(), input.clone());
        let handle = std::thread::spawn(move || {
            let r = f(data);
            let _ = tx.send(r);
        });
        let fail = |why: String| -> ! {
            let path = failure_path(target, base.wrapping_add(case));
            let _ = std::fs::write(&path, &input);
            let shown: String = String::from_utf8_lossy(&input).chars().take(400).collect();
            panic!(
                "fuzz {target}: case {case} (MTREC_FUZZ_SEED={base}, from seed {}): {why}\ninput saved to {}\ninput (lossy, first 400 chars): {shown:?}",
                seeds[seed_no].0,
                path.display()
            )
        };
        match rx.recv_timeout(limit) {
            Ok(Ok(())) => {
                let _ = handle.join();
            }
            Ok(Err(broken)) => fail(broken),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                fail(format!("no answer within {limit:?} (a hang?)"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let msg = match handle.join() {
                    Err(p) => p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into()),
                    Ok(()) => "the case ended without an answer".into(),
                };
                fail(format!("panicked: {msg}"))
            }
        }
        case += 1;
    }
    eprintln!(
        "fuzz {target}: {case} cases in {:.1} s, no panic, no hang",
        start.elapsed().as_secs_f64()
    );
}

/// The property every failure must have: an error with a non-empty message.
pub fn error_has_message<E: std::fmt::Display>(e: &E) -> Result<(), String> {
    let m = e.to_string();
    if m.trim().is_empty() {
        Err("an error with an empty message".into())
    } else {
        Ok(())
    }
}
