//! The two-tower split of MMoE's first layers (src/recommend/two_tower.rs) scores every
//! (user, item) pair as the model does on the concatenated row.

mod recommend_support;

use mtrec::config::RunConfig;
use mtrec::recommend::two_tower::TwoTower;
use mtrec::recommend::{Fusion, Recommender, Request};
use recommend_support::trained_with;
use std::collections::BTreeMap;

fn check(test: &str, set: &[&str]) {
    let (dir, run) = trained_with(test, set);
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    let users: Vec<(String, BTreeMap<String, String>)> = r
        .train_users
        .ids
        .iter()
        .map(|u| (u.clone(), BTreeMap::new()))
        .collect();
    let table = r.user_table(&users, "test").unwrap();
    let users = r.encode_users(&table).unwrap();
    let enc = users.first.clone();
    let pairs: Vec<(u32, u32)> = (0..table.len() as u32)
        .flat_map(|u| (0..r.catalogue.len() as u32).map(move |i| (u, i)))
        .collect();
    let full = r.score_pairs(&users, &pairs).unwrap();
    let tt = TwoTower::new(&r).unwrap();
    let pu = tt.partials(&r, &enc, true).unwrap();
    let pi = tt.partials(&r, r.items(), false).unwrap();
    let split = tt.score_pairs(&pu, &pi, &pairs).unwrap();
    assert_eq!(full.len(), split.len());
    assert_eq!(full.len(), pairs.len() * 2);
    let worst = full
        .iter()
        .zip(&split)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "largest difference {worst}");
    // the same through score_users, as `mtrec recommend --two-tower` scores
    let fusion = Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
    let req = Request {
        k: 5,
        fusion: &fusion,
        candidates: None,
        exclude_history: true,
        max_per_value: None,
    };
    let plain = r.score_users(&table.ids, &users, &req, &|_| {}).unwrap();
    let mut r = r;
    r.use_two_tower().unwrap();
    let fast = r.score_users(&table.ids, &users, &req, &|_| {}).unwrap();
    assert_eq!(plain.len(), fast.len());
    for (a, b) in plain.iter().zip(&fast) {
        assert_eq!(a.cands, b.cands);
        let worst = a
            .values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "largest difference {worst}");
    }
    // the scores are not all alike (a model that ignores its input would pass trivially)
    let spread = full
        .iter()
        .step_by(2)
        .fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(spread.1 - spread.0 > 1e-4, "{spread:?}");
}

#[test]
fn two_tower_scores_equal_the_concatenated_rows() {
    check("two-tower", &[]);
    // experts with a second layer (the rest of each expert runs per pair)
    check("two-tower-deep", &["model.expert=[8, 6]"]);
}

#[test]
fn two_tower_is_refused_for_other_architectures() {
    let (dir, run) = trained_with("two-tower-sb", &["model.arch=shared_bottom"]);
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    let err = TwoTower::new(&r).err().unwrap().to_string();
    assert!(err.contains("mmoe"), "{err}");
    let out = recommend_support::mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--all-users",
        "--two-tower",
        "--output",
        dir.join("tt.csv").to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mmoe"));
    assert!(!dir.join("tt.csv").exists());
}
