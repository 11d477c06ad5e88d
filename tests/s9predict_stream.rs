//! Issue #17 §1 (predict streams every kind of run): `mtrec predict` of runs with
//! `[[data.join]]`, with text features (a tiny BERT written by the test) and of
//! ensembles reads --input in chunks (`MTREC_PREDICT_CHUNK_ROWS`) and writes the bytes
//! of reading it whole (`MTREC_PREDICT_WHOLE=1`, the path before streaming); an error
//! in a late chunk leaves nothing behind; the text cache gets no file of its own from
//! the chunks (the texts embedded are the whole input's).

use std::path::{Path, PathBuf};
use std::process::Command;

mod events_support;
mod rows_cache_support;

use events_support::{temp_dir, xorshift};
use rows_cache_support::{CLICK_BUY_TASKS, RANDOM_SPLIT};

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// Runs `mtrec` with `MTREC_PREDICT_CHUNK_ROWS = chunk` (`None`: read whole through
/// `MTREC_PREDICT_WHOLE=1`) and the text cache under `cache`.
fn mtrec(args: &[&str], chunk: Option<usize>, cache: &Path) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(args)
        .env_remove("MTREC_PREDICT_CHUNK_ROWS")
        .env_remove("MTREC_PREDICT_WHOLE")
        .env("MTREC_CACHE", cache);
    match chunk {
        Some(c) => cmd.env("MTREC_PREDICT_CHUNK_ROWS", c.to_string()),
        None => cmd.env("MTREC_PREDICT_WHOLE", "1"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `items.csv`: item (0..40; 35..39 never in the rows), cat, a title with a comma.
fn write_items(dir: &Path) {
    let mut s = String::from("item,cat,title\n");
    for i in 0..40 {
        s.push_str(&format!(
            "{i},c{},\"film {}, part {}\"\n",
            i % 6,
            i % 13,
            i % 3
        ));
    }
    std::fs::write(dir.join("items.csv"), s).unwrap();
}

/// `n` rows `user,item,price,note,click,buy`: `note` a free text (a few repeats);
/// `bad`: keys missing from items.csv, missing keys, rows with two fields.
fn rows(n: usize, seed: u64, bad: bool, labelled: bool) -> String {
    let mut s = String::from("user,item,price,note,click,buy\n");
    let mut next = xorshift(seed);
    for i in 0..n {
        let (u, it) = (next() % 23, next() % 35);
        let price = (next() % 1000) as f64 / 100.0;
        let note = ["good", "bad film", "  good", "so so", "new"][(next() % 5) as usize];
        let note = if i % 50 == 3 {
            format!("note {i}")
        } else {
            note.to_string()
        };
        if bad && i % 211 == 17 {
            s.push_str("1,2\n");
            continue;
        }
        let item = match (bad, i % 97) {
            (true, 11) => "999".to_string(), // not a key of items.csv
            (true, 12) => String::new(),     // a missing key: joined cells missing
            _ => it.to_string(),
        };
        let (click, buy) = if labelled {
            let c = ((u + it) % 3 == 0) as u8;
            (c.to_string(), ((c == 1 && price < 5.0) as u8).to_string())
        } else {
            (String::new(), String::new())
        };
        s.push_str(&format!("{u},{item},{price},{note},{click},{buy}\n"));
    }
    s
}

/// After the tasks (`CLICK_BUY_TASKS`) and the split (`RANDOM_SPLIT`).
const MODEL: &str = r#"
[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]
[train]
lr = 0.01
batch_size = 64
epochs = 1
"#;

/// A run config: rows.csv joined with items.csv (cat, title); `text`: the feature
/// `note` carries its own text (main file) and `item` the joined title, both embedded
/// by the tiny encoder `encoder`.
fn config(seed: u64, encoder: Option<&Path>) -> String {
    let mut s = String::from(
        "[data]\nfiles = [\"rows.csv\"]\nheader = true\nmissing_values = [\"\"]\n\
         [[data.join]]\nfile = \"items.csv\"\non = \"item\"\n\
         [[features]]\nname = \"user\"\nkind = \"categorical\"\ndim = 4\n\
         [[features]]\nname = \"cat\"\nkind = \"categorical\"\ndim = 3\n\
         [[features]]\nname = \"price\"\nkind = \"numeric\"\n",
    );
    match encoder {
        None => s.push_str("[[features]]\nname = \"item\"\nkind = \"categorical\"\ndim = 4\n"),
        Some(enc) => {
            for (name, column) in [("item", "title"), ("note", "note")] {
                s.push_str(&format!(
                    "[[features]]\nname = \"{name}\"\nkind = \"categorical\"\ndim = 4\n\
                     [features.text]\ncolumn = \"{column}\"\nmode = \"text+id\"\nencoder = \"{}\"\n\
                     adaptor = \"linear\"\ndim = 3\n",
                    p(enc)
                ));
            }
        }
    }
    s.push_str(CLICK_BUY_TASKS);
    s.push_str(RANDOM_SPLIT);
    s.push_str(MODEL);
    s.push_str(&format!("seed = {seed}\n"));
    s
}

/// A tiny BERT folder (hidden 8, one layer, two heads) with seeded weights: the native
/// encoder that text features run in `mtrec train` and `predict`.
fn write_tiny_bert(dir: &Path) -> PathBuf {
    use safetensors::tensor::{serialize, TensorView};
    use safetensors::Dtype;
    let enc = dir.join("tiny-bert");
    std::fs::create_dir_all(&enc).unwrap();
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for w in ["film", "part", "good", "bad", "so", "new", "note", ","] {
        vocab.push(w.into());
    }
    vocab.extend((0..10).map(|d| d.to_string()));
    vocab.extend((0..10).map(|d| format!("##{d}")));
    let (v, h, f, pos) = (vocab.len(), 8usize, 16usize, 32usize);
    std::fs::write(enc.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    std::fs::write(
        enc.join("config.json"),
        format!(
            r#"{{"vocab_size": {v}, "hidden_size": {h}, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": {f}, "max_position_embeddings": {pos}, "type_vocab_size": 2, "hidden_act": "gelu"}}"#
        ),
    )
    .unwrap();
    let mut next = xorshift(4242);
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, shape: Vec<usize>, one: bool| {
        let n: usize = shape.iter().product();
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                let r = (next() % 2001) as f32 / 1000.0 - 1.0;
                if one {
                    1.0 + 0.1 * r
                } else {
                    0.3 * r
                }
            })
            .flat_map(f32::to_le_bytes)
            .collect();
        tensors.push((name.to_string(), shape, bytes));
    };
    add("embeddings.word_embeddings.weight", vec![v, h], false);
    add("embeddings.position_embeddings.weight", vec![pos, h], false);
    add("embeddings.token_type_embeddings.weight", vec![2, h], false);
    add("embeddings.LayerNorm.weight", vec![h], true);
    add("embeddings.LayerNorm.bias", vec![h], false);
    let l = "encoder.layer.0";
    for d in [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
    ] {
        add(&format!("{l}.{d}.weight"), vec![h, h], false);
        add(&format!("{l}.{d}.bias"), vec![h], false);
    }
    add(&format!("{l}.intermediate.dense.weight"), vec![f, h], false);
    add(&format!("{l}.intermediate.dense.bias"), vec![f], false);
    add(&format!("{l}.output.dense.weight"), vec![h, f], false);
    add(&format!("{l}.output.dense.bias"), vec![h], false);
    for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
        add(&format!("{l}.{n}.weight"), vec![h], true);
        add(&format!("{l}.{n}.bias"), vec![h], false);
    }
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(
        enc.join("model.safetensors"),
        serialize(views, &None).unwrap(),
    )
    .unwrap();
    enc
}

/// Trains a run of `config` on rows.csv + items.csv in `dir`.
fn train(dir: &Path, name: &str, config: &str, cache: &Path) -> PathBuf {
    let toml = dir.join(format!("{name}.toml"));
    std::fs::write(&toml, config).unwrap();
    let run = dir.join(name);
    let (ok, err) = mtrec(
        &[
            "train",
            "--config",
            p(&toml),
            "--data-dir",
            p(dir),
            "--out",
            p(&run),
            "--quiet",
            "--threads",
            "1",
        ],
        Some(1 << 14),
        cache,
    );
    assert!(ok, "training {name} failed: {err}");
    run
}

fn predict(
    dir: &Path,
    run: &Path,
    input: &Path,
    out: &Path,
    extra: &[&str],
    chunk: Option<usize>,
    cache: &Path,
) -> (bool, String) {
    let mut args = vec![
        "predict",
        "--run",
        p(run),
        "--input",
        p(input),
        "--output",
        p(out),
        "--force",
        "--quiet",
        "--data-dir",
        p(dir),
    ];
    args.extend_from_slice(extra);
    mtrec(&args, chunk, cache)
}

/// The number of chunks `predict` reports reading (1 when it says nothing).
fn chunks_read(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("read --input in "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// stderr lines on the rows written and the unseen ids (the output path replaced).
fn summary(stderr: &str, out: &Path) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("wrote ") || l.starts_with("unseen ids"))
        .map(|l| l.replace(p(out), "OUT"))
        .collect()
}

/// Reads `input` whole, then in chunks of each size of `chunks`: the same bytes, rows,
/// marked rows and unseen counts; reports the whole output.
fn same_as_whole(
    dir: &Path,
    run: &Path,
    input: &Path,
    extra: &[&str],
    chunks: &[usize],
    cache: &Path,
) -> String {
    let whole = dir.join("whole.csv");
    let (ok, err_whole) = predict(dir, run, input, &whole, extra, None, cache);
    assert!(ok, "{err_whole}");
    let want = std::fs::read(&whole).unwrap();
    for &c in chunks {
        let out = dir.join("chunked.csv");
        let (ok, err) = predict(dir, run, input, &out, extra, Some(c), cache);
        assert!(ok, "{err}");
        assert!(!err.contains("read whole"), "{err}");
        let rows = want.iter().filter(|&&b| b == b'\n').count() - 1;
        assert!(
            chunks_read(&err) >= rows / c / 2,
            "not read in chunks of {c}: {err}"
        );
        assert!(
            std::fs::read(&out).unwrap() == want,
            "chunks of {c} rows ({extra:?}) wrote other bytes than reading --input whole"
        );
        assert_eq!(summary(&err, &out), summary(&err_whole, &whole));
    }
    String::from_utf8(want).unwrap()
}

fn no_temp_files(dir: &Path) {
    let tmp: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
}

/// An error in a late chunk (a key missing from items.csv at `line`): nothing written.
fn late_error(dir: &Path, run: &Path, cache: &Path) {
    let mut text = rows(5000, 21, false, false);
    let line = 4321;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let f: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
    lines[line - 1] = format!("{},777,{}", f[0], f[2..].join(","));
    text = lines.join("\n") + "\n";
    let input = dir.join("late.csv");
    std::fs::write(&input, text).unwrap();
    let out = dir.join("late-out.csv");
    for chunk in [None, Some(100)] {
        let (ok, err) = predict(dir, run, &input, &out, &[], chunk, cache);
        assert!(!ok, "a row whose key is not in items.csv was scored");
        assert!(err.contains(&format!("{}:{line}:", p(&input))), "{err}");
        assert!(err.contains("777") && err.contains("items.csv"), "{err}");
        assert!(!out.exists(), "an output was written");
        no_temp_files(dir);
    }
}

#[test]
fn a_join_run_scores_in_chunks_the_bytes_of_reading_whole() {
    let dir = temp_dir("s9ps-join");
    let cache = dir.join("cache");
    write_items(&dir);
    std::fs::write(dir.join("rows.csv"), rows(600, 5, false, true)).unwrap();
    let run = train(&dir, "run", &config(3, None), &cache);
    let input = dir.join("input.csv");
    std::fs::write(&input, rows(9000, 77, true, false)).unwrap();
    let keep = ["--bad-rows", "mark", "--keep", "item,cat,title"];
    let whole = same_as_whole(&dir, &run, &input, &keep, &[1000, 4097], &cache);
    assert!(
        whole.contains("\"film 5, part 2\""),
        "the joined title is kept"
    );
    assert!(
        whole.contains("is not a key of the side table"),
        "bad keys are marked"
    );
    same_as_whole(&dir, &run, &input, &["--bad-rows", "mark"], &[7], &cache);
    late_error(&dir, &run, &cache);
}

#[test]
fn a_text_run_embeds_the_whole_inputs_texts_once_and_scores_in_chunks() {
    let dir = temp_dir("s9ps-text");
    let cache = dir.join("cache");
    let enc = write_tiny_bert(&dir);
    write_items(&dir);
    std::fs::write(dir.join("rows.csv"), rows(600, 5, false, true)).unwrap();
    let run = train(&dir, "run", &config(3, Some(&enc)), &cache);
    let input = dir.join("input.csv");
    std::fs::write(&input, rows(3000, 78, true, false)).unwrap();
    let keep = ["--bad-rows", "mark", "--keep", "item,note,title"];
    let cached = |c: &Path| -> Vec<String> {
        let mut v: Vec<String> = walk(c);
        v.sort();
        v
    };
    let whole = dir.join("whole.csv");
    let (ok, err) = predict(&dir, &run, &input, &whole, &keep, None, &cache);
    assert!(ok, "{err}");
    let after_whole = cached(&cache);
    same_as_whole(&dir, &run, &input, &keep, &[250, 1], &cache);
    // the chunks asked the cache for the whole input's texts: no new cache file
    assert_eq!(cached(&cache), after_whole);
    // a cold cache: the chunked run embeds the texts itself, to the same bytes
    let cold = dir.join("cold-cache");
    let out = dir.join("cold.csv");
    let (ok, err) = predict(&dir, &run, &input, &out, &keep, Some(333), &cold);
    assert!(ok, "{err}");
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&whole).unwrap());
    late_error(&dir, &run, &cache);
}

fn walk(d: &Path) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd {
            let path = e.unwrap().path();
            if path.is_dir() {
                v.extend(walk(&path));
            } else {
                v.push(path.display().to_string());
            }
        }
    }
    v
}

#[test]
fn an_ensemble_scores_each_chunk_with_every_member() {
    let dir = temp_dir("s9ps-ens");
    let cache = dir.join("cache");
    write_items(&dir);
    std::fs::write(dir.join("rows.csv"), rows(600, 5, false, true)).unwrap();
    let a = train(&dir, "a", &config(3, None), &cache);
    let b = train(&dir, "b", &config(4, None), &cache);
    let input = dir.join("input.csv");
    std::fs::write(&input, rows(9000, 79, true, false)).unwrap();
    for method in ["mean", "rank_mean"] {
        let ens = dir.join(format!("ens-{method}"));
        let (ok, err) = mtrec(
            &[
                "ensemble",
                "--runs",
                p(&a),
                p(&b),
                "--method",
                method,
                "--out",
                p(&ens),
                "--data-dir",
                p(&dir),
            ],
            Some(1 << 14),
            &cache,
        );
        assert!(ok, "{err}");
        let whole = same_as_whole(
            &dir,
            &ens,
            &input,
            &["--bad-rows", "mark"],
            &[999, 4097],
            &cache,
        );
        // the fused scores are neither member's
        let out_a = dir.join("a.csv");
        let (ok, err) = predict(
            &dir,
            &a,
            &input,
            &out_a,
            &["--bad-rows", "mark"],
            Some(999),
            &cache,
        );
        assert!(ok, "{err}");
        assert_ne!(std::fs::read_to_string(&out_a).unwrap(), whole);
    }
    let ens = dir.join("ens-mean");
    late_error(&dir, &ens, &cache);
}
