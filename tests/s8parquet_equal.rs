//! Issue #17 §1: `data.format = "parquet"` in the streamed cache build (row groups are
//! the chunks, src/data/cache/build/parquet.rs) gives the in-memory build's sets: the
//! same spec, rows, report, skipped rows and first error, over files of many uneven row
//! groups, two files, and 1, 2 and 3 threads (identical bytes).

mod s8parquet_support;

use mtrec::data::rows::Rows;

use s8parquet_support::{
    assert_same, cache_bytes, cached, config, config_text, in_memory, temp_dir, write_rows, Bad,
};

/// Row groups of uneven sizes, one of a single row.
const GROUPS: &[usize] = &[377, 1, 600, 250, 512];

#[test]
fn a_streamed_parquet_cache_equals_the_in_memory_rows() {
    let dir = temp_dir("rows");
    write_rows(&dir.join("a.parquet"), 3000, 99, GROUPS, Bad::default());
    let cfg = config(&dir, &config_text("[\"a.parquet\"]", ""));
    let sets = assert_same(&cfg, &dir, "cache");
    assert!(sets.train.len() > 1500);
}

#[test]
fn two_files_and_a_files_split_stream_like_the_in_memory_path() {
    let dir = temp_dir("two");
    write_rows(&dir.join("a.parquet"), 2500, 5, GROUPS, Bad::default());
    write_rows(&dir.join("b.parquet"), 900, 11, &[128], Bad::default());
    let files = "[\"a.parquet\", \"b.parquet\"]";
    let cfg = config(&dir, &config_text(files, ""));
    assert_same(&cfg, &dir, "cache");
    let text = config_text(files, "").replace(
        "kind = \"random\"",
        "kind = \"files\"\ntrain_files = [\"a.parquet\"]\ntest_files = [\"b.parquet\"]",
    );
    assert_same(&config(&dir, &text), &dir, "cache_files");
}

#[test]
fn skipped_parquet_rows_are_the_in_memory_paths() {
    let dir = temp_dir("skip");
    let bad = Bad {
        bytes: true,
        number: true,
        label: true,
    };
    write_rows(&dir.join("a.parquet"), 3000, 99, GROUPS, bad);
    let cfg = config(&dir, &config_text("[\"a.parquet\"]", "bad_rows = \"skip\""));
    let (_, sets, skipped) = cached(&cfg, &dir, "probe").unwrap();
    assert!(sets.streamed);
    assert_eq!(skipped.count, 3, "{skipped:?}");
    assert_same(&cfg, &dir, "cache");
}

#[test]
fn parquet_errors_name_the_same_file_row_and_column() {
    let dir = temp_dir("err");
    for (tag, bad, column) in [
        (
            "bytes",
            Bad {
                bytes: true,
                number: true,
                ..Bad::default()
            },
            "a.parquet:1300:",
        ),
        (
            "number",
            Bad {
                number: true,
                label: true,
                ..Bad::default()
            },
            "a.parquet:1700:",
        ),
        (
            "label",
            Bad {
                label: true,
                ..Bad::default()
            },
            "a.parquet:2100:",
        ),
    ] {
        write_rows(&dir.join("a.parquet"), 3000, 99, GROUPS, bad);
        let cfg = config(&dir, &config_text("[\"a.parquet\"]", ""));
        let mem = in_memory(&cfg, &dir).map(|_| ()).unwrap_err().to_string();
        let streamed = cached(&cfg, &dir, tag).map(|_| ()).unwrap_err().to_string();
        assert_eq!(streamed, mem, "{tag}");
        assert!(mem.contains(column), "{tag}: {mem}");
        assert!(
            !dir.join(tag).read_dir().unwrap().any(|e| e.is_ok()),
            "a failed build left files"
        );
    }
}

#[test]
fn one_two_and_three_threads_write_identical_parquet_caches() {
    let dir = temp_dir("threads");
    write_rows(&dir.join("a.parquet"), 4000, 3, GROUPS, Bad::default());
    let cfg = config(&dir, &config_text("[\"a.parquet\"]", ""));
    for (threads, root) in [(1, "t1"), (2, "t2"), (3, "t3")] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let sets = pool.install(|| cached(&cfg, &dir, root)).unwrap().1;
        assert!(sets.streamed);
    }
    let one = cache_bytes(&dir.join("t1"));
    assert_eq!(one.len(), 6);
    assert!(
        one == cache_bytes(&dir.join("t2")),
        "1 and 2 threads differ"
    );
    assert!(
        one == cache_bytes(&dir.join("t3")),
        "1 and 3 threads differ"
    );
}
