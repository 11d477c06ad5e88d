//! The recommender keeps its autograd graphs between scoring calls
//! (`recommend::graphs::GraphPool`): a call's values must not depend on what the graph
//! scored before (other users, other pair counts), on the plain path and on the
//! two-tower split's user side.

mod recommend_support;

use mtrec::config::RunConfig;
use mtrec::recommend::graphs::GraphPool;
use mtrec::recommend::{Recommender, Scoring};
use recommend_support::trained;

#[test]
fn a_pool_hands_back_its_graph_reset() {
    let pool = GraphPool::default();
    assert!(pool.is_empty());
    let n = pool.with(|g| {
        let x = g.input_slice(2, 1, &[1.0, 2.0]).unwrap();
        g.value(x).len()
    });
    assert_eq!(n, 2);
    assert_eq!(pool.len(), 1, "the graph is kept");
    let nodes = pool.with(|g| g.len());
    assert_eq!(nodes, 0, "a graph comes out of the pool reset");
    assert_eq!(pool.len(), 1, "and is reused, not a second one");
}

#[test]
fn scores_do_not_depend_on_what_the_pooled_graph_scored_before() {
    let (dir, run) = trained("s8graphs");
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    for scoring in [Scoring::Plain, Scoring::Auto] {
        let mut r = Recommender::load(&run, &dir, cfg.recommend.clone().unwrap()).unwrap();
        r.set_scoring(scoring).unwrap();
        let mut fresh = Recommender::load(&run, &dir, cfg.recommend.clone().unwrap()).unwrap();
        fresh.set_scoring(scoring).unwrap();
        let n = r.catalogue.len() as u32;
        let users: Vec<String> = r.train_users.ids.iter().take(3).cloned().collect();
        let table = r
            .user_table(
                &users
                    .iter()
                    .map(|u| (u.clone(), Default::default()))
                    .collect::<Vec<_>>(),
                "test",
            )
            .unwrap();
        let enc = r.encode_users(&table).unwrap();
        let all: Vec<(u32, u32)> = (0..3).flat_map(|u| (0..n).map(move |i| (u, i))).collect();
        let few: Vec<(u32, u32)> = vec![(2, 1), (0, n - 1)];
        // fresh recommender: its first call, on a new graph
        let want_few = fresh.score_pairs(&enc, &few).unwrap();
        // the pooled one scores something larger first, then the same pairs
        let _ = r.score_pairs(&enc, &all).unwrap();
        let got_few = r.score_pairs(&enc, &few).unwrap();
        assert_eq!(got_few, want_few, "{scoring:?}");
        let again = r.score_pairs(&enc, &all).unwrap();
        assert_eq!(again, fresh.score_pairs(&enc, &all).unwrap(), "{scoring:?}");
        // whole lists (the two-tower split's user partials come from a pooled graph)
        let fusion = mtrec::recommend::Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
        let req = mtrec::recommend::Request {
            k: 5,
            fusion: &fusion,
            candidates: None,
            exclude_history: false,
            max_per_value: None,
        };
        let none = Default::default();
        let want = fresh.recommend_for_user(&users[0], &none, &req).unwrap();
        for u in users.iter().rev() {
            let _ = r.recommend_for_user(u, &none, &req).unwrap();
        }
        assert_eq!(
            r.recommend_for_user(&users[0], &none, &req).unwrap(),
            want,
            "{scoring:?}"
        );
    }
}
