//! `mtrec seq --report` (through `SeqFitOptions::after_epoch`): a sequence run's page
//! with its heads' curves, HR/NDCG table and the early-stopping sentence.

use mtrec::data::sequences::{leave_last_out, SeqData};
use mtrec::train::seq::{fit, SeqFitOptions, SeqInputs, SeqRunConfig};
use std::path::Path;

/// Users walk a fixed cycle through 12 items, with ratings.
fn cycle_data(users: usize) -> SeqData {
    let mut seqs = Vec::new();
    let mut rs = Vec::new();
    for u in 0..users {
        let n = 6 + u % 5;
        seqs.push((0..n).map(|j| format!("c{:02}", (u + j) % 12)).collect());
        rs.push((0..n).map(|j| ((u + j) % 5 + 1) as f32).collect());
    }
    let users = (0..users).map(|u| format!("u{u}")).collect();
    SeqData::from_raw("cycle", users, seqs, Some(rs), 3).unwrap()
}

/// Counts the calls, so the test sees one page write per epoch and one at the end.
static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn report_and_count(out: &Path) -> mtrec::error::Result<()> {
    WRITES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    mtrec::report::write_run_report(out)
}

#[test]
fn a_seq_run_with_report_writes_its_page_every_epoch() {
    let data = cycle_data(20);
    let split = leave_last_out(&data).unwrap();
    let text = "[data]\ndataset = \"ml-100k\"\ndir = \"x\"\nmax_len = 8\n[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\nrating_head = true\nlike_head = true\n[train]\nepochs = 3\nbatch_size = 16\nlr = 0.01\npatience = 100\n";
    let cfg = SeqRunConfig::parse(text, "test config", &[]).unwrap();
    let out = std::env::temp_dir().join(format!("mtrec-i18report-seq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = SeqFitOptions {
        out: Some(out.clone()),
        after_epoch: Some(report_and_count),
        ..SeqFitOptions::default()
    };
    let inputs = SeqInputs {
        data: &data,
        split: &split,
        text: None,
        text_dim: 0,
    };
    let fitted = fit(&cfg, &inputs, &opts).unwrap();
    assert_eq!(
        WRITES.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "3 epochs + the end"
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    for title in [
        "next_item: valid ndcg10",
        "rating: valid rating_rmse",
        "like: valid like_auc",
    ] {
        assert!(page.contains(title), "{title} missing");
    }
    assert!(page.contains("valid ndcg10 epoch 3: "), "every epoch drawn");
    assert!(page.contains(&format!(
        "<b>Best epoch {}</b> by valid ndcg10 of next_item",
        fitted.best_epoch
    )));
    assert!(page.contains("Training ran all 3 epochs (train.epochs)"));
    let hr10 = mtrec::report::svg::num(fitted.test.hr10);
    assert!(
        page.contains(&format!("<td>{hr10}</td>")),
        "test HR@10 {hr10}"
    );
    assert!(
        !page.contains("run_info.json is missing") && !page.contains("summary.json is missing")
    );
    std::fs::remove_dir_all(&out).unwrap();
}
