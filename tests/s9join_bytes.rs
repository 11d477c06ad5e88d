//! Issue #17 §1: with `[[data.join]]` (and a column split) the streamed cache is byte
//! for byte the cache the in-memory build writes (`MTREC_STREAM=0`), at 1 to 3
//! threads. One test in this file: it sets the process's environment.

mod s9join_support;

use s9join_support::*;

#[test]
fn the_streamed_join_cache_is_the_in_memory_builds_bytes() {
    let dir = temp_dir("bytes");
    let bad = Bad {
        malformed: true,
        missing_item: true,
        missing_category: true,
        number: true,
        set: false,
    };
    write_fixture(&dir, 3000, bad);
    for (split, tag) in [(RANDOM, "random"), (COLUMN, "column")] {
        let cfg = config(&dir, &config_text(split, "bad_rows = \"skip\""));
        let memory = dir.join(format!("{tag}-memory"));
        std::env::set_var("MTREC_STREAM", "0");
        let sets = mtrec::data::cache::open_or_build(&cfg, &dir, &memory);
        std::env::remove_var("MTREC_STREAM");
        assert!(!sets.unwrap().1.streamed, "MTREC_STREAM=0 still streamed");
        let memory = cache_bytes(&memory);
        assert_eq!(memory.len(), 6);
        for threads in 1..=3 {
            let root = format!("{tag}-t{threads}");
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let sets = pool.install(|| cached(&cfg, &dir, &root)).unwrap().1;
            assert!(sets.streamed, "{tag}, {threads} threads: not streamed");
            let streamed = cache_bytes(&dir.join(&root));
            assert_eq!(memory.len(), streamed.len());
            for (m, s) in memory.iter().zip(&streamed) {
                assert_eq!(m.0, s.0);
                assert!(m.1 == s.1, "{tag}, {threads} threads: {} differs", m.0);
            }
        }
    }
}
