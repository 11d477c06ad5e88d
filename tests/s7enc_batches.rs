//! Issue #20 (s7-enc): padding-free batches (texts grouped by token length) and whole
//! batches run side by side on the threads (`Spread::Batches`) give the same embeddings,
//! bit for bit, as one text at a time, in input order.

mod s7enc_support;

use mtrec::text::encoder::{plan_batches, Spread};
use mtrec::text::Encoder;
use s7enc_support::{Tiny, TINY_VOCAB};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn planned_batches_hold_one_length_each_and_cover_every_text_once() {
    let lengths: Vec<usize> = (0..500).map(|i| 2 + (i * 7919 % 31) % 23).collect();
    for &(batch_size, heads) in &[(1usize, 1usize), (7, 12), (64, 12), (1000, 2)] {
        let batches = plan_batches(&lengths, batch_size, heads);
        let mut seen = vec![0usize; lengths.len()];
        let mut last_len = usize::MAX;
        for b in &batches {
            assert!(!b.is_empty() && b.len() <= batch_size, "{b:?}");
            let t = lengths[b[0]];
            assert!(
                b.iter().all(|&i| lengths[i] == t),
                "batch mixes lengths: {:?}",
                b.iter().map(|&i| lengths[i]).collect::<Vec<_>>()
            );
            assert!(t <= last_len, "batches are not longest first");
            last_len = t;
            assert!(
                b.windows(2).all(|w| w[0] < w[1]),
                "input order within: {b:?}"
            );
            b.iter().for_each(|&i| seen[i] += 1);
        }
        assert!(seen.iter().all(|&c| c == 1), "every text exactly once");
        // Full batches except the last of each length: no needless small batches.
        let full = batches
            .windows(2)
            .filter(|w| lengths[w[0][0]] == lengths[w[1][0]])
            .all(|w| w[0].len() == batch_size);
        assert!(full, "batch_size {batch_size}");
    }
    // The attention bound: B·H·T² ≤ 32 Mi floats cuts batches of long texts.
    let long = vec![512usize; 40];
    let b = plan_batches(&long, 64, 12);
    assert!(
        b.iter().all(|b| b.len() * 12 * 512 * 512 <= 32 << 20),
        "{b:?}"
    );
    assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 40);
}

/// Texts of many token lengths from the tiny vocabulary (n words, some split by WordPiece).
fn texts() -> Vec<String> {
    let words = &TINY_VOCAB[4..];
    (0..90)
        .map(|i| {
            let n = (i * 37) % 29;
            (0..n)
                .map(|j| match words[(i + j * 5) % words.len()] {
                    "##b" => "ab",
                    w => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn batched_and_side_by_side_embeddings_equal_one_text_at_a_time_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("mtrec-s7enc-batches-{}", std::process::id()));
    // D = 48, D_ff = 96, 4 heads: products large enough for the packed GEMM.
    Tiny::new(11, (48, 96, 4, 40)).write(&dir);
    let mut enc = Encoder::load(&dir).unwrap();
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let lens: Vec<usize> = refs
        .iter()
        .map(|t| enc.tokenizer.encode(t).ids.len())
        .collect();
    assert!(
        lens.iter().min() < lens.iter().max(),
        "the fixture must mix token lengths: {lens:?}"
    );
    // One text at a time: nothing to pad, nothing side by side.
    enc.spread = Spread::Inside;
    let alone: Vec<Vec<f32>> = refs
        .iter()
        .map(|t| enc.encode(&[t], 1).unwrap().row(0).to_vec())
        .collect();
    for threads in [1, 2] {
        for spread in [Spread::Inside, Spread::Batches, Spread::Auto] {
            enc.spread = spread;
            for batch_size in [3, 64] {
                let emb = pool(threads).install(|| enc.encode(&refs, batch_size).unwrap());
                assert_eq!(emb.dim(), (texts.len(), 48));
                for (i, want) in alone.iter().enumerate() {
                    assert_eq!(
                        bits(&emb.row(i).to_vec()),
                        bits(want),
                        "text {i} {:?}: threads {threads} {spread:?} batch {batch_size}",
                        texts[i]
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_spread_in_the_environment_is_refused_with_the_choices() {
    let dir = std::env::temp_dir().join(format!("mtrec-s7enc-spread-{}", std::process::id()));
    Tiny::new(3, (8, 12, 2, 16)).write(&dir);
    std::fs::write(dir.join("texts.txt"), "toy story\nheat\n").unwrap();
    let run = |spread: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mtrec"))
            .args(["embed", "--no-cache", "--model"])
            .arg(&dir)
            .arg("--input")
            .arg(dir.join("texts.txt"))
            .arg("--output")
            .arg(dir.join("out.npy"))
            .env("MTREC_EMBED_SPREAD", spread)
            .output()
            .unwrap()
    };
    let bad = run("sideways");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "{err}");
    assert!(
        err.contains("MTREC_EMBED_SPREAD") && err.contains("sideways") && err.contains("batches"),
        "{err}"
    );
    for ok in ["inside", "batches", "auto"] {
        let out = run(ok);
        assert!(
            out.status.success(),
            "{ok}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
