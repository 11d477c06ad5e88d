//! The streaming cache build (src/data/cache/build/, issue #17 §1–2) against the
//! in-memory path: the same spec (vocabulary ids, scaler values bit for bit), the same
//! rows in the same sets, the same report, skipped rows and first error, for many
//! small chunks (`MTREC_STREAM_CHUNK`), gzip input, 1 and 2 threads.

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use mtrec::data::rows::Rows;
use std::path::{Path, PathBuf};

mod rows_cache_support;
use rows_cache_support::{assert_same, cache_bytes, cached, in_memory};

/// Chunk size of every test here (one value: tests share the process's environment).
const CHUNK: &str = "700";

fn temp_dir(tag: &str) -> PathBuf {
    std::env::set_var("MTREC_STREAM_CHUNK", CHUNK);
    let d = std::env::temp_dir().join(format!("mtrec-s7stream-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Which bad rows [`rows_csv`] writes.
#[derive(Clone, Copy, Default)]
struct Bad {
    malformed: bool,
    number: bool,
    label: bool,
    multiline: bool,
}

/// `n` rows of user, item (categorical; some quoted with a comma inside), price
/// (numeric, every 11th missing), click, buy (binary, every 7th buy missing), with CRLF
/// and blank lines here and there, and the bad rows of `bad` far into the file.
fn rows_csv(n: usize, bad: Bad) -> String {
    let mut s = String::from("user,item,price,click,buy\n");
    let mut x: u64 = 99;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let (u, it) = (next() % 30, next() % 50);
        let price = if i % 11 == 3 {
            String::new()
        } else {
            format!("{}", (next() % 1000) as f64 / 100.0)
        };
        let click = ((u + it) % 3 == 0) as u8;
        let buy = if i % 7 == 0 {
            String::new()
        } else {
            ((click == 1 && u % 2 == 0) as u8).to_string()
        };
        let item = if it % 5 == 0 {
            format!("\"i{it},x\"")
        } else {
            format!("i{it}")
        };
        match i {
            300 if bad.malformed => s.push_str("1,2,3,4,5,6\n"),
            340 if bad.number => s.push_str("u1,i1,abc,1,0\n"),
            380 if bad.label => s.push_str("u1,i1,1.5,2,0\n"),
            400 if bad.multiline => s.push_str("u1,\"i1\nstill i1\",1.5,1,0\n"),
            _ => {}
        }
        if i % 97 == 5 {
            s.push('\n');
        }
        let end = if i % 13 == 0 { "\r\n" } else { "\n" };
        s.push_str(&format!("u{u},{item},{price},{click},{buy}{end}"));
    }
    s
}

fn rows_config(extra: &str) -> String {
    rows_cache_support::rows_config(
        extra,
        3,
        "\n[model]\narch = \"mmoe\"\nnum_experts = 2\nexpert = [4]\ntower = [4]\n",
    )
}

fn config(dir: &Path, text: &str, sets: &[&str]) -> RunConfig {
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    RunConfig::from_file_in(&path, &sets, Some(dir)).unwrap()
}

#[test]
fn the_streamed_cache_equals_the_in_memory_rows() {
    let dir = temp_dir("rows");
    std::fs::write(dir.join("rows.csv"), rows_csv(3000, Bad::default())).unwrap();
    let cfg = config(&dir, &rows_config(""), &[]);
    let sets = assert_same(&cfg, &dir, "cache");
    assert!(sets.train.len() > 1500);
    // with files split and standard / minmax / none scaling
    let text = rows_config("").replace(
        "name = \"price\"\nkind = \"numeric\"",
        "name = \"price\"\nkind = \"numeric\"\nscale = \"minmax\"\nmissing = \"zero\"",
    );
    let cfg = config(&dir, &text, &[]);
    assert_same(&cfg, &dir, "cache_minmax");
}

#[test]
fn gzip_and_several_files_stream_like_the_in_memory_path() {
    use std::io::Write;
    let dir = temp_dir("gz");
    let text = rows_csv(2500, Bad::default());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    std::fs::write(dir.join("rows.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("more.csv"), rows_csv(900, Bad::default())).unwrap();
    let cfg = config(
        &dir,
        &rows_config("").replace(
            "files = [\"rows.csv\"]",
            "files = [\"rows.csv.gz\", \"more.csv\"]",
        ),
        &[],
    );
    assert_same(&cfg, &dir, "cache");
    let files = rows_config("")
        .replace(
            "files = [\"rows.csv\"]",
            "files = [\"rows.csv.gz\", \"more.csv\"]",
        )
        .replace(
            "kind = \"random\"",
            "kind = \"files\"\ntrain_files = [\"rows.csv.gz\"]\ntest_files = [\"more.csv\"]",
        );
    let cfg = config(&dir, &files, &[]);
    assert_same(&cfg, &dir, "cache_files");
}

#[test]
fn skipped_rows_are_the_in_memory_paths() {
    let dir = temp_dir("skip");
    let bad = Bad {
        malformed: true,
        number: true,
        label: true,
        multiline: false,
    };
    std::fs::write(dir.join("rows.csv"), rows_csv(3000, bad)).unwrap();
    let cfg = config(&dir, &rows_config("bad_rows = \"skip\""), &[]);
    let (_, _, skipped) = cached(&cfg, &dir, "probe").unwrap();
    assert_eq!(skipped.count, 3, "{skipped:?}");
    assert_same(&cfg, &dir, "cache");
}

#[test]
fn errors_name_the_same_file_line_and_column() {
    let dir = temp_dir("err");
    for (tag, bad) in [
        (
            "malformed",
            Bad {
                malformed: true,
                number: true,
                ..Bad::default()
            },
        ),
        (
            "number",
            Bad {
                number: true,
                label: true,
                ..Bad::default()
            },
        ),
        (
            "label",
            Bad {
                label: true,
                ..Bad::default()
            },
        ),
    ] {
        std::fs::write(dir.join("rows.csv"), rows_csv(3000, bad)).unwrap();
        let cfg = config(&dir, &rows_config(""), &[]);
        let mem = in_memory(&cfg, &dir).map(|_| ()).unwrap_err().to_string();
        let streamed = cached(&cfg, &dir, tag).map(|_| ()).unwrap_err().to_string();
        assert_eq!(streamed, mem, "{tag}");
        assert!(mem.contains("rows.csv:"), "{mem}");
        assert!(
            !dir.join(tag).read_dir().unwrap().any(|e| e.is_ok()),
            "a failed build left files"
        );
    }
}

#[test]
fn a_quoted_field_across_lines_falls_back_to_the_in_memory_reader() {
    let dir = temp_dir("multi");
    let bad = Bad {
        multiline: true,
        ..Bad::default()
    };
    std::fs::write(dir.join("rows.csv"), rows_csv(3000, bad)).unwrap();
    let cfg = config(&dir, &rows_config(""), &[]);
    let (mem, _) = in_memory(&cfg, &dir).unwrap();
    let (p, sets, _) = cached(&cfg, &dir, "cache").unwrap();
    assert!(!sets.streamed);
    assert_eq!(p.spec, mem.spec);
    assert_eq!(sets.train.to_encoded(), mem.train);
}

#[test]
fn one_and_two_threads_write_identical_bytes() {
    let dir = temp_dir("threads");
    std::fs::write(dir.join("rows.csv"), rows_csv(4000, Bad::default())).unwrap();
    let cfg = config(&dir, &rows_config(""), &[]);
    for (threads, root) in [(1, "t1"), (2, "t2"), (3, "t3")] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let sets = pool.install(|| cached(&cfg, &dir, root)).unwrap().1;
        assert!(sets.streamed);
    }
    let one = cache_bytes(&dir.join("t1"));
    assert_eq!(
        one.len(),
        6,
        "{:?}",
        one.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(
        one == cache_bytes(&dir.join("t2")),
        "1 and 2 threads differ"
    );
    assert!(
        one == cache_bytes(&dir.join("t3")),
        "1 and 3 threads differ"
    );
}

#[test]
fn a_generated_aliexpress_file_streams_like_the_in_memory_path() {
    let dir = temp_dir("ae");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args([
            "gen",
            "aliexpress",
            "--rows",
            "4000",
            "--seed",
            "3",
            "--out",
        ])
        .arg(dir.join("ae.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/aliexpress_mmoe.toml");
    let text = std::fs::read_to_string(preset).unwrap();
    let path = dir.join("ae.toml");
    std::fs::write(&path, text).unwrap();
    let cfg = RunConfig::from_file_in(&path, &["data.files=[\"ae.csv\"]".to_string()], Some(&dir))
        .unwrap();
    assert_same(&cfg, &dir, "cache");
}

/// The preset's own sample files (`../shared/data/samples`).
#[test]
#[ignore = "needs ../shared/data"]
fn the_aliexpress_preset_samples_stream_like_the_in_memory_path() {
    std::env::set_var("MTREC_STREAM_CHUNK", CHUNK);
    let data =
        PathBuf::from(std::env::var("MTREC_DATA").expect("set MTREC_DATA to ../shared/data"));
    assert!(
        data.join("samples").is_dir(),
        "no samples under {}",
        data.display()
    );
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/aliexpress_mmoe.toml");
    let cfg = RunConfig::from_file_in(&preset, &[], Some(&data)).unwrap();
    let (mem, _) = in_memory(&cfg, &data).unwrap();
    let root = temp_dir("preset");
    let (p, sets, _) = open_or_build(&cfg, &data, &root).unwrap();
    assert!(sets.streamed);
    assert_eq!(p.spec, mem.spec);
    assert_eq!(p.report, mem.report);
    assert_eq!(sets.train.to_encoded(), mem.train);
    assert_eq!(sets.test.to_encoded(), mem.test);
}
