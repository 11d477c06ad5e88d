//! Transfer learning: initialising a store from another run's parameters by name,
//! freezing parameter groups, and (further down) `mtrec train` with `init_from` / `freeze`.

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
