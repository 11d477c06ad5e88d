//! Issue #17 §1: with `[[data.join]]` (and a column split) the streamed cache is byte
//! for byte the cache the in-memory build writes (`MTREC_STREAM=0`), at 1 to 3
//! threads. One test in this file: it sets the process's environment.

mod s9join_support;

use s9join_support::*;

#[test]
fn the_streamed_join_cache_is_the_in_memory_builds_bytes() {
    let dir = temp_dir("bytes");
    write_fixture(&dir, 3000, Bad::ALL_BUT_SET);
    for (split, tag) in [(RANDOM, "random"), (COLUMN, "column")] {
        let cfg = config(&dir, &config_text(split, "bad_rows = \"skip\""));
        let (_, memory) = assert_streams_to_memory_bytes(&cfg, &dir, tag);
        assert_eq!(memory.len(), 6);
    }
}
