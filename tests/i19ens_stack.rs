//! `mtrec ensemble --method stack`: weights fitted on the validation split only, and the
//! ensemble's predictions equal σ(b + Σ w_m z_m) of the members' predictions.

mod i19ens_support;

use i19ens_support::*;
use std::path::{Path, PathBuf};

/// Two members (MMoE, Shared-Bottom) in `dir`.
fn two_members(dir: &Path) -> Vec<PathBuf> {
    [("mmoe", 1u64), ("shared_bottom", 3)]
        .iter()
        .enumerate()
        .map(|(i, (arch, seed))| {
            let out = dir.join(format!("m{i}"));
            train_member(dir, &config(THREE_TASKS, arch, *seed, ""), &out);
            out
        })
        .collect()
}

/// `test.csv` with every click flipped and every watch value doubled.
fn change_test_labels(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("test.csv")).unwrap();
    let mut s = String::new();
    for (i, l) in text.lines().enumerate() {
        if i == 0 {
            s.push_str(l);
        } else {
            let mut f: Vec<String> = l.split(',').map(String::from).collect();
            f[4] = if f[4] == "1" { "0".into() } else { "1".into() };
            f[6] = format!("{:.3}", f[6].parse::<f64>().unwrap() * 2.0);
            s.push_str(&f.join(","));
        }
        s.push('\n');
    }
    std::fs::write(dir.join("test.csv"), s).unwrap();
}

#[test]
fn stack_weights_come_from_the_validation_split_and_not_from_test() {
    let a = temp_dir("i19ens-stack-a");
    let b = temp_dir("i19ens-stack-b");
    write_split_events(&a);
    write_split_events(&b);
    change_test_labels(&b);
    let (ra, rb) = (two_members(&a), two_members(&b));
    let (ea, eb) = (a.join("ens"), b.join("ens"));
    ensemble(&a, &ra, "stack", &ea);
    ensemble(&b, &rb, "stack", &eb);
    let (ja, jb) = (
        read_json(&ea.join("ensemble.json")),
        read_json(&eb.join("ensemble.json")),
    );
    assert_eq!(ja["method"], "stack");
    for k in 0..3 {
        let (ta, tb) = (&ja["tasks"][k], &jb["tasks"][k]);
        assert_eq!(ta["weights"].as_array().unwrap().len(), 2);
        assert_eq!(
            ta["weights"], tb["weights"],
            "task {k}: test labels changed the weights"
        );
        assert_eq!(ta["bias"], tb["bias"]);
    }
    // the test labels did change, and the test metrics saw it
    let (sa, sb) = (
        read_json(&ea.join("summary.json")),
        read_json(&eb.join("summary.json")),
    );
    assert_ne!(
        sa["ensemble"]["test"]["click"]["auc"],
        sb["ensemble"]["test"]["click"]["auc"]
    );
    assert_eq!(sa["ensemble"]["valid"], sb["ensemble"]["valid"]);

    // predictions: σ(b + Σ w_m logit(p_m)) for click and buy, b + Σ w_m v_m for watch
    let test = a.join("test.csv");
    let members: Vec<Vec<Vec<f64>>> = ra
        .iter()
        .enumerate()
        .map(|(m, r)| predict(&a, r, &test, &format!("m{m}.csv")))
        .collect();
    let got = predict(&a, &ea, &test, "ens.csv");
    for (k, g) in got.iter().enumerate() {
        let t = &ja["tasks"][k];
        let bias = t["bias"].as_f64().unwrap();
        let w: Vec<f64> = t["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (i, &score) in g.iter().enumerate() {
            let lin = |f: &dyn Fn(f64) -> f64| {
                bias + (0..2).map(|m| w[m] * f(members[m][k][i])).sum::<f64>()
            };
            let want = if k < 2 {
                sigmoid(lin(&logit))
            } else {
                lin(&|v| v)
            };
            assert!(
                (score - want).abs() < 2e-4,
                "task {k} row {i}: {score} vs {want}"
            );
        }
    }
    // the stacked click model is at least as good on valid as the plain logit mean of
    // its members would be at the optimum of the same family (it is fitted there)
    assert!(sa["ensemble"]["valid"]["click"]["logloss"]
        .as_f64()
        .unwrap()
        .is_finite());
}
