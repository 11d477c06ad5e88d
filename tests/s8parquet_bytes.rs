//! Issue #17 §1: the streamed Parquet cache is byte for byte the cache the in-memory
//! build writes (`MTREC_STREAM=0`), at 1 and 2 threads. One test in this file: it sets
//! the process's environment, which other tests would see.

mod s8parquet_support;

use s8parquet_support::{cache_bytes, cached, config, config_text, temp_dir, write_rows, Bad};

#[test]
fn the_streamed_parquet_cache_is_the_in_memory_builds_bytes() {
    let dir = temp_dir("bytes");
    write_rows(
        &dir.join("a.parquet"),
        3000,
        21,
        &[500, 333, 1],
        Bad::default(),
    );
    write_rows(&dir.join("b.parquet"), 700, 8, &[100], Bad::default());
    let skip = "bad_rows = \"skip\"";
    let cfg = config(&dir, &config_text("[\"a.parquet\", \"b.parquet\"]", skip));
    std::env::set_var("MTREC_STREAM", "0");
    let (_, sets, _) = cached(&cfg, &dir, "memory").unwrap();
    std::env::remove_var("MTREC_STREAM");
    assert!(!sets.streamed, "MTREC_STREAM=0 still streamed");
    let memory = cache_bytes(&dir.join("memory"));
    assert_eq!(memory.len(), 6);
    for (threads, root) in [(1, "t1"), (2, "t2")] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let sets = pool.install(|| cached(&cfg, &dir, root)).unwrap().1;
        assert!(sets.streamed, "{threads} threads: not streamed");
        let streamed = cache_bytes(&dir.join(root));
        for (m, s) in memory.iter().zip(&streamed) {
            assert_eq!(m.0, s.0);
            assert!(m.1 == s.1, "{threads} threads: {} differs", m.0);
        }
        assert_eq!(memory.len(), streamed.len());
    }
}
