//! Transfer learning: initialising a store from another run's parameters by name,
//! freezing parameter groups, and (further down) `mtrec train` with `init_from` / `freeze`.

mod events_support;

use mtrec::autograd::{Graph, ParamStore};
use mtrec::checkpoint::save_params;
use mtrec::checkpoint::transfer::{freeze_groups, group_matches, group_names, init_from};
use mtrec::optim::{Adam, AdamConfig, Frozen, Optimizer};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-transfer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn store_with(params: &[(&str, usize, usize, f32)]) -> ParamStore {
    let mut s = ParamStore::new();
    for &(name, r, c, v) in params {
        if name.contains(".emb.") {
            s.add_table(name, r, c, vec![v; r * c]).unwrap();
        } else {
            s.add_dense(name, r, c, vec![v; r * c]).unwrap();
        }
    }
    s
}

#[test]
fn init_from_loads_by_name_and_reports_new_and_unused() {
    let dir = temp_dir("init");
    let src = store_with(&[
        ("mmoe.experts.first.w", 3, 4, 1.5),
        ("mmoe.tower.0.0.w", 4, 1, 2.5),
        ("old.thing", 1, 1, 9.0),
    ]);
    save_params(dir.join("model.safetensors"), &src, &BTreeMap::new()).unwrap();
    let mut dst = store_with(&[
        ("mmoe.experts.first.w", 3, 4, 0.0),
        ("mmoe.tower.0.0.w", 4, 1, 0.0),
        ("mmoe.tower.1.0.w", 4, 1, 0.25),
    ]);
    let r = init_from(&mut dst, &dir).unwrap();
    assert_eq!(r.loaded, ["mmoe.experts.first.w", "mmoe.tower.0.0.w"]);
    assert_eq!(r.new, ["mmoe.tower.1.0.w"]);
    assert_eq!(r.unused, ["old.thing"]);
    let id = |s: &ParamStore, n: &str| s.find(n).unwrap();
    assert_eq!(
        dst.value(id(&dst, "mmoe.experts.first.w")),
        src.value(id(&src, "mmoe.experts.first.w"))
    );
    assert_eq!(dst.value(id(&dst, "mmoe.tower.1.0.w")), &[0.25; 4]);
    assert!(r.summary().contains("2 parameters loaded, 1 new"));
}

#[test]
fn init_from_rejects_shape_mismatches_naming_them_and_changes_nothing() {
    let dir = temp_dir("mismatch");
    let src = store_with(&[("a.w", 3, 4, 1.0), ("b.w", 2, 2, 1.0)]);
    save_params(dir.join("model.safetensors"), &src, &BTreeMap::new()).unwrap();
    let mut dst = store_with(&[("a.w", 5, 4, 0.0), ("b.w", 2, 2, 0.0)]);
    let e = init_from(&mut dst, &dir).unwrap_err().to_string();
    assert!(
        e.contains("`a.w`") && e.contains("[3, 4]") && e.contains("[5, 4]"),
        "{e}"
    );
    assert_eq!(dst.value(dst.find("b.w").unwrap()), &[0.0; 4]);
    let e = init_from(&mut dst, &dir.join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("model.safetensors") || e.contains("nope"), "{e}");
}

#[test]
fn freeze_groups_match_segments_and_unknown_groups_list_the_choices() {
    let s = store_with(&[
        ("mmoe.experts.first.w", 3, 4, 0.0),
        ("mmoe.gate.0.w", 3, 2, 0.0),
        ("mmoe.tower.1.0.w", 4, 1, 0.0),
        ("input.emb.user", 5, 2, 0.0),
        ("input.text_adaptor.item.linear.w", 6, 2, 0.0),
    ]);
    assert!(group_matches("experts", "mmoe.experts.first.w"));
    assert!(group_matches("tower.1", "mmoe.tower.1.0.w"));
    assert!(!group_matches("tower.1", "mmoe.tower.0.1.w"));
    assert!(!group_matches("expert", "mmoe.experts.first.w"));
    let ids = freeze_groups(&s, &["experts".into(), "text_adaptor".into()]).unwrap();
    let names: Vec<&str> = ids.iter().map(|&i| s.info(i).name.as_str()).collect();
    assert_eq!(
        names,
        ["mmoe.experts.first.w", "input.text_adaptor.item.linear.w"]
    );
    let groups = group_names(&s);
    for g in [
        "experts",
        "gate",
        "tower",
        "emb",
        "text_adaptor",
        "mmoe.experts",
    ] {
        assert!(groups.iter().any(|x| x == g), "{g} not in {groups:?}");
    }
    let e = freeze_groups(&s, &["expertz".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`expertz`") && e.contains("experts") && e.contains("text_adaptor"),
        "{e}"
    );
}

#[test]
fn frozen_parameters_stay_bit_identical_under_adamw_while_the_rest_moves() {
    let mut s = ParamStore::new();
    let a = s.add_dense("a.w", 2, 2, vec![0.5, -0.5, 1.0, 2.0]).unwrap();
    let b = s.add_dense("b.w", 2, 2, vec![0.5, -0.5, 1.0, 2.0]).unwrap();
    let t = s.add_table("emb.t", 3, 2, vec![0.1; 6]).unwrap();
    let u = s.add_table("emb.u", 3, 2, vec![0.1; 6]).unwrap();
    let mut opt = Frozen::new(
        Box::new(Adam::new(AdamConfig::adamw(0.1)).unwrap()),
        vec![a, t],
    );
    let before_a = s.value(a).to_vec();
    let before_t = s.value(t).to_vec();
    for step in 0..5 {
        s.zero_grad();
        let mut g = Graph::new(0);
        let x = g.input_slice(1, 2, &[1.0, -1.0]).unwrap();
        let av = g.param(&s, a).unwrap();
        let bv = g.param(&s, b).unwrap();
        let ya = g.mm(x, av).unwrap();
        let yb = g.mm(x, bv).unwrap();
        let et = g.gather(&s, t, &[step % 3]).unwrap();
        let eu = g.gather(&s, u, &[step % 3]).unwrap();
        let y = g.concat_cols(&[ya, yb, et, eu]).unwrap();
        let l = g.sum(y, mtrec::autograd::Axis::All).unwrap();
        g.backward(l, &mut s).unwrap();
        opt.step(&mut s, 0.1).unwrap();
    }
    assert_eq!(s.value(a), &before_a[..]);
    assert_eq!(s.value(t), &before_t[..]);
    assert_ne!(s.value(b), &before_a[..]);
    assert_ne!(s.value(u), &before_t[..]);
    assert_eq!(opt.name(), "adamw");
}

// ---------------------------------------------------------------------------------------
// `mtrec train` with `[train] init_from` and `freeze`.

use events_support::xorshift;
use mtrec::checkpoint::read_safetensors;
use mtrec::train::run::{setup, train, RunOptions};
use std::path::Path;

/// 800 rows: user, item, price; click, buy (binary) and watch (regression).
fn write_data(dir: &Path) {
    let mut s = String::from("user,item,price,click,buy,watch\n");
    let mut next = xorshift(777);
    for _ in 0..800 {
        let (u, it) = (next() % 20, next() % 30);
        let price = (next() % 1000) as f64 / 100.0;
        let click = ((u + it) % 3 == 0) as u8;
        let buy = (click == 1 && price < 5.0) as u8;
        let watch = u as f64 * 0.1 + price * 0.05;
        s.push_str(&format!("{u},{it},{price},{click},{buy},{watch:.3}\n"));
    }
    std::fs::write(dir.join("events.csv"), s).unwrap();
}

fn config(tasks: &[&str], train_extra: &str) -> String {
    let mut s = String::from(
        r#"
[data]
files = ["events.csv"]
header = true
[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[[features]]
name = "price"
kind = "numeric"
"#,
    );
    for t in tasks {
        let kind = if *t == "watch" {
            "regression"
        } else {
            "binary"
        };
        s.push_str(&format!(
            "[[tasks]]\nname = \"{t}\"\ntype = \"{kind}\"\ncolumn = \"{t}\"\n"
        ));
    }
    s.push_str(&format!(
        r#"
[split]
seed = 7
train = 0.7
valid = 0.15
[model]
arch = "mmoe"
num_experts = 3
expert = [8]
tower = [4]
[train]
lr = 0.01
batch_size = 64
epochs = 3
seed = 3
{train_extra}
[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    ));
    s
}

fn opts(dir: &Path, cfg: &str, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join(cfg),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

#[test]
fn fine_tuning_keeps_frozen_groups_bit_identical_and_trains_a_new_head() {
    let dir = temp_dir("finetune");
    write_data(&dir);
    std::fs::write(dir.join("pre.toml"), config(&["click", "watch"], "")).unwrap();
    train(&opts(&dir, "pre.toml", "pre")).unwrap();
    let src = dir.join("pre");
    let freeze = r#"freeze = ["experts", "emb", "gate.0", "gate.1", "tower.0", "tower.1"]"#;
    let extra = format!("init_from = {:?}\n{freeze}", src.display().to_string());
    let ft = config(&["click", "watch", "buy"], &extra);
    std::fs::write(dir.join("ft.toml"), &ft).unwrap();
    let summary = train(&opts(&dir, "ft.toml", "ft")).unwrap();

    let before = read_safetensors(&src.join("model.safetensors")).unwrap();
    let after = read_safetensors(&dir.join("ft/model.safetensors")).unwrap();
    let mut frozen = 0;
    for (name, t) in before.tensors() {
        // Every source parameter was loaded and frozen: equal bit for bit.
        let a = after
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing after fine-tuning"));
        assert_eq!(a.shape, t.shape, "{name}");
        assert!(
            a.data
                .iter()
                .zip(&t.data)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name} changed although frozen"
        );
        frozen += 1;
    }
    assert!(frozen >= 8, "{frozen}");
    // The new task's head started fresh and trained.
    let cfg = mtrec::config::RunConfig::from_str(&ft, "ft", &[]).unwrap();
    let fresh = setup(cfg, &dir).unwrap();
    let mut new_params = 0;
    for (name, t) in after.tensors() {
        if before.get(name).is_none() {
            assert!(name.contains(".2."), "{name} is new but not task 2's");
            let init = fresh.store.value(fresh.store.find(name).unwrap());
            if name.ends_with(".w") {
                assert_ne!(&t.data[..], init, "{name} did not train");
            }
            new_params += 1;
        }
    }
    assert!(new_params >= 4, "{new_params}");
    let tr = &summary["transfer"];
    assert_eq!(tr["new_tasks"], serde_json::json!(["buy"]));
    assert_eq!(tr["loaded"].as_array().unwrap().len(), frozen);
    assert_eq!(tr["new"].as_array().unwrap().len(), new_params);
    assert_eq!(tr["frozen_params"].as_array().unwrap().len(), frozen);
    assert!(tr["init_from"].as_str().unwrap().ends_with("pre"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ft/transfer.json")).unwrap())
            .unwrap();
    assert_eq!(&record, tr);
    assert!(summary["tasks"]["buy"]["test"]["auc"].as_f64().is_some());
}

#[test]
fn transfer_settings_that_do_not_fit_are_errors_that_say_what_to_do() {
    let dir = temp_dir("bad");
    write_data(&dir);
    std::fs::write(dir.join("pre.toml"), config(&["click", "watch"], "")).unwrap();
    train(&opts(&dir, "pre.toml", "pre")).unwrap();
    let src = dir.join("pre").display().to_string();
    let cases = [
        // Unknown group: the error lists the ones there are.
        (
            config(
                &["click", "watch"],
                &format!("init_from = {src:?}\nfreeze = [\"expertz\"]"),
            ),
            vec!["`expertz`", "experts", "tower"],
        ),
        // Tasks in another order: heads are matched by position.
        (
            config(&["watch", "click"], &format!("init_from = {src:?}")),
            vec!["tasks[0]", "`click`", "new tasks after them"],
        ),
        // A different embedding width: a shape mismatch naming the parameter.
        (
            config(&["click", "watch"], &format!("init_from = {src:?}")).replace(
                "dim = 4\n[[features]]\nname = \"price\"",
                "dim = 5\n[[features]]\nname = \"price\"",
            ),
            vec!["input.emb.item", "[31, 4]", "[31, 5]"],
        ),
        (
            config(&["click", "watch"], "init_from = \"/no/such/run\""),
            vec!["/no/such/run"],
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        std::fs::write(dir.join("bad.toml"), text).unwrap();
        let e = train(&opts(&dir, "bad.toml", &format!("bad{i}")))
            .unwrap_err()
            .to_string();
        for w in want {
            assert!(e.contains(w), "case {i}: `{w}` not in: {e}");
        }
    }
}
