//! A training epoch over a cached set several times larger than the bound keeps the
//! process's mapped file pages (`RssFile`) bounded: batches are read with `pread` into
//! a window's resident chunks, not through the memory map, whose pages the kernel maps
//! a whole page-cache folio at a time (docs/data_cache.md, "Memory"). Alone in its test
//! binary, so no other test's pages count.

mod s10rss_support;

use mtrec::data::cache::EpochOrder;
use mtrec::data::features::EncodedBatch;
use mtrec::data::rows::Rows;
use s10rss_support::{encoded, written, TempDir};

/// `RssFile` and `RssAnon` of this process, in kB (`/proc/self/status`).
fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let field = |name: &str| {
        (s.lines())
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("RssFile:"), field("RssAnon:"))
}

#[test]
fn an_epoch_over_a_256_mb_set_keeps_mapped_pages_bounded() {
    let dir = TempDir::new("rss");
    // 1,048,576 rows of 16 categorical + 44 numeric columns and 2 tasks (labels, masks):
    // 64 four-byte columns, 256 bytes a row, a 256 MiB file
    let n = 1 << 20;
    let set = {
        let e = encoded(n, 16, 44, 2, 0, 0);
        written(&dir, "train", &e)
    }; // the encoded rows are freed here
    let (block, window, batch) = (16_384, 262_144, 1024); // the defaults of data.shuffle_*
                                                          // MTREC_S10RSS_MAPPED=1 reads the same epoch through the map (the reader before the
                                                          // chunks): this test then fails, showing the pages the map holds
    let mapped = std::env::var("MTREC_S10RSS_MAPPED").is_ok();
    set.read_in_windows(block, if mapped { 0 } else { window });
    let mut out = EncodedBatch::default();
    let mut order = EpochOrder::new(n, batch, block, window, 7);
    // mapped pages are counted from before the first batch (reading through the map,
    // that batch alone maps whole page-cache folios of every column it touches); the
    // heap from after it (it reads the first window's chunks)
    let (file0, _) = rss();
    let t0 = std::time::Instant::now();
    set.batch(order.next_batch().unwrap(), &mut out);
    let (file1, anon0) = rss();
    let (mut file_peak, mut anon_peak, mut steps) = (file1, anon0, 1);
    while let Some(rows) = order.next_batch() {
        set.batch(rows, &mut out);
        steps += 1;
        if steps % 8 == 0 {
            let (f, a) = rss();
            file_peak = file_peak.max(f);
            anon_peak = anon_peak.max(a);
        }
    }
    assert_eq!(steps, n.div_ceil(batch));
    eprintln!("epoch read in {:.2} s", t0.elapsed().as_secs_f64());
    let window_kb = (window * 256 / 1024) as u64; // 64 MiB: the chunks of one window
    eprintln!(
        "RssFile {file0} → peak {file_peak} kB, RssAnon {anon0} → peak {anon_peak} kB; \
         reader holds {} kB; one window is {window_kb} kB",
        set.reader_bytes() / 1024
    );
    // mapped pages: at most 16 MiB more (this code's own pages), where reading through
    // the map held at least the 64 MiB window, and on this kernel (6.18) the whole file
    assert!(
        file_peak - file0 <= 16 * 1024,
        "mapped file pages grew by {} kB while reading the set",
        file_peak - file0
    );
    // the heap: the window's chunks were read by the first batch; the rest of the epoch
    // replaces them, it does not add to them
    assert!(set.reader_bytes() as u64 <= window_kb * 1024);
    assert!(
        anon_peak - anon0 <= 16 * 1024,
        "the heap grew by {} kB over the epoch",
        anon_peak - anon0
    );
}
