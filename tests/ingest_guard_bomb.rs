//! A small gzip file holding one huge line (issue #13, item 14): reading stops at
//! `data.max_line_bytes` with a clean error, soon, and without holding the line in
//! memory. Alone in its test binary, so that the process's peak memory is its own.

use mtrec::config::{BadRows, DataConfig};
use mtrec::data::ingest::read_file;
use std::io::Write;
use std::time::Instant;

/// The process's peak resident memory in KiB (`VmHWM`), where /proc exists.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_gzip_of_one_64_mib_line_stops_at_the_line_limit() {
    const MIB: usize = 1 << 20;
    let path = std::env::temp_dir().join(format!(
        "mtrec-ingest-guard-bomb-{}.csv.gz",
        std::process::id()
    ));
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut e = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let chunk = vec![b'7'; MIB];
        for _ in 0..64 {
            e.write_all(&chunk).unwrap();
        }
        e.write_all(b"\n").unwrap();
        e.finish().unwrap();
    }
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 2 * MIB as u64, "{compressed} bytes");
    let before = peak_rss_kib();
    let c = DataConfig {
        columns: Some(vec!["a".into()]),
        bad_rows: BadRows::Skip,
        ..Default::default()
    };
    let start = Instant::now();
    let msg = match read_file(&path, &c, &[]) {
        Ok(t) => panic!("a 64 MiB line was accepted ({} rows)", t.num_rows()),
        Err(e) => e.to_string(),
    };
    let took = start.elapsed();
    std::fs::remove_file(&path).unwrap();
    assert!(
        msg.contains(":1:1: line: longer than data.max_line_bytes = 1048576 bytes"),
        "{msg}"
    );
    assert!(msg.len() < 800, "unbounded message: {} bytes", msg.len());
    // Reading stops at the limit: the first MiB is decompressed, not 64.
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        let grew_mib = (after.saturating_sub(before)) / 1024;
        assert!(grew_mib < 16, "peak memory grew by {grew_mib} MiB");
    }
}
