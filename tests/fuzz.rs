//! Fuzzing on stable Rust (issue #13, item 16): the CSV reader, the run-config loaders
//! (`mtrec train` and `mtrec seq`), the safetensors loader and the WordPiece tokenizer
//! get mutations of the seed corpus in `tests/fuzz/corpus/<target>/` (bit flips,
//! truncations, insertions of huge numbers, quotes, NUL bytes, invalid UTF-8, duplicated
//! lines and fields; see `tests/fuzz/mutate.rs`). The property: no panic, no hang (each
//! case within `MTREC_FUZZ_CASE_SECS`, default 10 s), every failure an `Err` with a
//! message; for safetensors, valid files round-trip bit for bit.
//!
//! `cargo test --release --test fuzz` runs a few hundred cases per target (seconds);
//! `MTREC_FUZZ_SECS=60 cargo test --release --test fuzz` runs each target for a minute
//! (`.ci/run` does), `MTREC_FUZZ_SEED=<n>` explores other cases. A failing case is saved
//! to `target/fuzz-failures/` and reproduced by its seed.

#[path = "fuzz/mutate.rs"]
mod mutate;

use mtrec::autograd::ParamStore;
use mtrec::checkpoint::{
    load_params, load_train_state, read_safetensors, write_safetensors, TensorOut,
};
use mtrec::config::{BadRows, DataConfig, Format, RunConfig};
use mtrec::data::ingest::read_file;
use mtrec::optim::{Adam, AdamConfig};
use mtrec::text::tokenizer::Tokenizer;
use mtrec::train::seq::SeqRunConfig;
use mutate::{budget, error_has_message, run, Rng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh file path for one case (cases may run while an earlier one hangs).
fn scratch(ext: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("mtrec-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.{ext}", N.fetch_add(1, Ordering::Relaxed)))
}

fn csv_configs() -> Vec<DataConfig> {
    let cols = |n: usize| {
        Some(
            (0..n)
                .map(|i| ["age", "city", "click", "note"][i].to_string())
                .collect(),
        )
    };
    vec![
        DataConfig {
            header: true,
            ..DataConfig::default()
        },
        DataConfig {
            columns: cols(4),
            bad_rows: BadRows::Skip,
            dedup: true,
            ..DataConfig::default()
        },
        DataConfig {
            columns: cols(4),
            format: Format::Tsv,
            delimiter: Some('|'),
            trim: false,
            ..DataConfig::default()
        },
    ]
}

#[test]
fn fuzz_csv_reader() {
    run("csv", budget(300), |bytes| {
        let path = scratch("csv");
        std::fs::write(&path, &bytes).unwrap();
        for cfg in csv_configs() {
            match read_file(&path, &cfg, &["age", "city", "click"]) {
                Ok(t) => {
                    for c in ["age", "city", "click"] {
                        if t.column(c).is_none() {
                            return Err(format!("Ok table without the needed column {c}"));
                        }
                    }
                }
                Err(e) => error_has_message(&e)?,
            }
        }
        let _ = std::fs::remove_file(&path);
        Ok(())
    });
}

#[test]
fn fuzz_config_loader() {
    run("config", budget(300), |bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // through a file too: invalid UTF-8 must be an error, not a panic
        let path = scratch("toml");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = RunConfig::from_file(&path, &[]) {
            error_has_message(&e)?;
        }
        let _ = std::fs::remove_file(&path);
        // a line of the input as a --set override
        let lines: Vec<&str> = text.lines().collect();
        let set = lines
            .get(bytes.len() % lines.len().max(1))
            .map(|l| l.to_string());
        let overrides: Vec<String> = set.into_iter().collect();
        for o in [&[][..], &overrides[..]] {
            match RunConfig::from_str(&text, "fuzz.toml", o) {
                Ok(cfg) => {
                    // what loads is written back and loads to the same configuration
                    let back = cfg.to_toml_string().map_err(|e| e.to_string())?;
                    let again = RunConfig::from_str(&back, "written", &[])
                        .map_err(|e| format!("the written config does not load: {e}\n{back}"))?;
                    if again != cfg {
                        return Err(format!("round trip changed the config:\n{back}"));
                    }
                }
                Err(e) => error_has_message(&e)?,
            }
            if let Err(e) = SeqRunConfig::parse(&text, "fuzz.toml", o) {
                error_has_message(&e)?;
            }
        }
        Ok(())
    });
}

fn store() -> ParamStore {
    let mut s = ParamStore::new();
    s.add_dense("a.w", 2, 3, vec![0.0; 6]).unwrap();
    s.add_dense("a.b", 1, 3, vec![0.0; 3]).unwrap();
    s.add_table("t.emb", 4, 2, vec![0.0; 8]).unwrap();
    s
}

#[test]
fn fuzz_safetensors_loader() {
    run("safetensors", budget(300), |bytes| {
        let path = scratch("safetensors");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_safetensors(&path) {
            error_has_message(&e)?;
        }
        if let Err(e) = load_params(&path, &mut store()) {
            error_has_message(&e)?;
        }
        let mut opt = Adam::new(AdamConfig::default()).unwrap();
        if let Err(e) = load_train_state(&path, &mut store(), &mut opt) {
            error_has_message(&e)?;
        }
        let _ = std::fs::remove_file(&path);
        Ok(())
    });
}

#[test]
fn fuzz_safetensors_round_trip_is_bit_exact() {
    // random shapes, names and finite bit patterns (subnormals, −0, the largest values)
    let cases = match budget(200) {
        mutate::Budget::Cases(n) => n,
        mutate::Budget::Time(t) => (t.as_secs_f64() * 200.0) as usize,
    };
    for case in 0..cases as u64 {
        let mut rng = Rng::new(case);
        let n_tensors = 1 + rng.below(5);
        let mut owned: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        for t in 0..n_tensors {
            let shape: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(5)).collect();
            let len = shape.iter().product::<usize>();
            // any finite bit pattern; NaN and ±inf are refused on load (checked in
            // tests/predict_guard_checkpoint.rs), so the top exponent bit is cleared
            let data = (0..len)
                .map(|_| {
                    let x = f32::from_bits(rng.next() as u32);
                    if x.is_finite() {
                        x
                    } else {
                        f32::from_bits(x.to_bits() & 0xBFFF_FFFF)
                    }
                })
                .collect();
            owned.push((format!("t{t}.ü/{}", rng.below(1000)), shape, data));
        }
        let tensors: Vec<TensorOut<'_>> = owned
            .iter()
            .map(|(n, s, d)| TensorOut::new(n.clone(), s.clone(), d))
            .collect();
        let mut meta = BTreeMap::new();
        meta.insert("k".to_string(), format!("v\"{case}\n"));
        let path = scratch("safetensors");
        write_safetensors(&path, &tensors, &meta).unwrap();
        let back = read_safetensors(&path).unwrap();
        assert_eq!(back.metadata().get("k"), meta.get("k"), "case {case}");
        assert_eq!(back.tensors().len(), owned.len(), "case {case}");
        for (name, shape, data) in &owned {
            let t = back
                .get(name)
                .unwrap_or_else(|| panic!("case {case}: {name} lost"));
            assert_eq!(&t.shape, shape, "case {case}: {name}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t.data), bits(data), "case {case}: {name} changed");
        }
        let _ = std::fs::remove_file(&path);
    }
}

const VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "quick", "brown", "fox", "un", "##aff", "##able",
    "##want", "##ed", "run", "##ning", "##ner", "cafe", "creme", ",", ".", "!", "北", "京", "a",
    "b", "c", "##b", "##c",
];

#[test]
fn fuzz_wordpiece_tokenizer() {
    run("tokenizer", budget(500), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        let mut tokens: Vec<String> = VOCAB.iter().map(|s| s.to_string()).collect();
        // the input's lines as extra vocabulary entries: odd tokens must not break it
        tokens.extend(text.lines().take(50).map(str::to_string));
        for (lowercase, max_len) in [(true, 16), (false, 2), (true, 512)] {
            let tok = Tokenizer::from_tokens(tokens.clone(), lowercase, max_len)
                .map_err(|e| format!("a vocabulary with the special tokens was refused: {e}"))?;
            let enc = tok.encode(&text);
            let (cls, sep) = (tok.id("[CLS]").unwrap(), tok.id("[SEP]").unwrap());
            if enc.ids.len() > max_len || enc.ids.len() < 2 {
                return Err(format!("{} ids for max_len {max_len}", enc.ids.len()));
            }
            if enc.ids[0] != cls || *enc.ids.last().unwrap() != sep {
                return Err(format!("not [CLS] … [SEP]: {:?}", enc.ids));
            }
            if let Some(bad) = enc.ids.iter().find(|&&i| i as usize >= tok.vocab_size()) {
                return Err(format!(
                    "id {bad} outside the vocabulary of {}",
                    tok.vocab_size()
                ));
            }
        }
        // a vocabulary file made of the input
        let path = scratch("txt");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = Tokenizer::from_vocab_file(&path, true, 8) {
            error_has_message(&e)?;
        }
        let _ = std::fs::remove_file(&path);
        Ok(())
    });
}

/// The harness itself: a target that panics on a NUL byte is caught (the mutations
/// insert NUL bytes), with the case and its input in the failure.
#[test]
#[should_panic(expected = "panicked: NUL byte reached the target")]
fn fuzz_harness_reports_a_panicking_target() {
    run("csv", mutate::Budget::Cases(5000), |bytes| {
        assert!(!bytes.contains(&0), "NUL byte reached the target");
        Ok(())
    });
}

/// And a case that does not finish within `MTREC_FUZZ_CASE_SECS` is a failure.
#[test]
#[should_panic(expected = "a hang?")]
fn fuzz_harness_reports_a_hang() {
    let limit = std::time::Duration::from_millis(200);
    mutate::run_with("csv", mutate::Budget::Cases(3), limit, |_| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        Ok(())
    });
}
