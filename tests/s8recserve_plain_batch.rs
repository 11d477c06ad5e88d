//! Requests that queue up together on the plain path (every pair's row through the
//! whole network) are scored in shared forward passes (`Recommender::recommend_many`):
//! each list must be the one the request gets alone (same items, scores within 1e-6),
//! and a bad request gets its error without failing the others.

mod recommend_support;

use mtrec::config::recommend::FusionConfig;
use mtrec::config::RunConfig;
use mtrec::recommend::batch::Ask;
use mtrec::recommend::{Fusion, Recommender, Request, Scoring};
use recommend_support::trained;
use std::collections::BTreeMap;

#[test]
fn plain_requests_scored_together_equal_each_alone_in_one_pass() {
    let (dir, run) = trained("s8plain-batch");
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let mut r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    assert!(!r.set_scoring(Scoring::Plain).unwrap());
    let n = r.catalogue.len() as u32;
    let users: Vec<String> = r.train_users.ids.iter().take(3).cloned().collect();
    let product = Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
    let sum_cfg: FusionConfig = serde_json::from_str(r#"{"kind": "sum"}"#).unwrap();
    let sum = Fusion::new(&sum_cfg, &r.model.cfg.tasks).unwrap();
    let some: Vec<u32> = (0..n).step_by(2).collect();
    let none = BTreeMap::new();
    let stranger = BTreeMap::new();
    let req = |k, fusion, candidates, exclude_history| Request {
        k,
        fusion,
        candidates,
        exclude_history,
        max_per_value: None,
    };
    let asks = vec![
        Ask {
            user: &users[0],
            features: &none,
            req: req(5, &product, None, true),
        },
        Ask {
            user: &users[1],
            features: &none,
            req: req(3, &sum, Some(&some), false),
        },
        Ask {
            user: "nobody-knows-me",
            features: &stranger,
            req: req(3, &sum, None, false),
        },
        Ask {
            user: &users[2],
            features: &none,
            req: req(50, &product, None, false),
        },
        Ask {
            user: &users[0],
            features: &none,
            req: req(2, &sum, Some(&some), false),
        },
    ];
    let rows = 2 * n as usize + some.len() * 2;
    assert!(rows <= mtrec::recommend::batch::PLAIN_PASS_ROWS);
    let before = r.plain_passes();
    let together = r.recommend_many(&asks);
    assert_eq!(
        r.plain_passes() - before,
        1,
        "the four good requests' rows go through the network in one pass"
    );
    assert_eq!(together.len(), asks.len());
    for (j, (a, got)) in asks.iter().zip(&together).enumerate() {
        let alone = r.recommend_for_user(a.user, a.features, &a.req);
        match (got, alone) {
            (Ok(got), Ok(want)) => {
                assert!(!got.is_empty());
                assert_eq!(got.len(), want.len(), "request {j}");
                for (x, y) in got.iter().zip(&want) {
                    assert_eq!(x.item, y.item, "request {j}");
                    assert!(
                        (x.score - y.score).abs() <= 1e-6,
                        "request {j}: {x:?} {y:?}"
                    );
                    for (p, q) in x.tasks.iter().zip(&y.tasks) {
                        assert!((p - q).abs() <= 1e-6, "request {j}: {x:?} {y:?}");
                    }
                }
            }
            (Err(e), Err(f)) => {
                assert_eq!(j, 2);
                assert_eq!(e.to_string(), f.to_string());
            }
            (got, alone) => panic!("request {j}: together {got:?}, alone {alone:?}"),
        }
    }
}

#[test]
fn plain_passes_take_whole_requests_up_to_the_row_cap() {
    let (dir, run) = trained("s8plain-cap");
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let mut r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    r.set_scoring(Scoring::Plain).unwrap();
    let n = r.catalogue.len();
    let fusion = Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
    let users: Vec<String> = r.train_users.ids.iter().take(2).cloned().collect();
    let none = BTreeMap::new();
    // enough requests of the whole catalogue for three passes
    let per_pass = mtrec::recommend::batch::PLAIN_PASS_ROWS / n;
    let count = 2 * per_pass + 1;
    let asks: Vec<Ask<'_>> = (0..count)
        .map(|j| Ask {
            user: &users[j % 2],
            features: &none,
            req: Request {
                k: 4,
                fusion: &fusion,
                candidates: None,
                exclude_history: false,
                max_per_value: None,
            },
        })
        .collect();
    let before = r.plain_passes();
    let together = r.recommend_many(&asks);
    assert_eq!(r.plain_passes() - before, 3, "{count} requests of {n} rows");
    for (a, got) in asks.iter().zip(together) {
        let want = r.recommend_for_user(a.user, a.features, &a.req).unwrap();
        let got = got.unwrap();
        assert_eq!(
            got.iter().map(|x| x.item).collect::<Vec<_>>(),
            want.iter().map(|x| x.item).collect::<Vec<_>>()
        );
    }
}
