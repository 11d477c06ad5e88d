//! Issue #15: `data.loader = "taobao"` is a preset of the interactions loader (one
//! aggregation of events into pairs): its table is the interactions pairs of the same
//! lines, in Taobao's columns; the tables that only `interactions` reads are refused.

use mtrec::config::data::Loader;
use mtrec::config::interactions::{NegativesConfig, RankingConfig};
use mtrec::config::{BadRows, DataConfig};
use mtrec::data::ingest::RawTable;
use mtrec::data::loaders::interactions::read::aggregate;
use mtrec::data::loaders::interactions::{read_interactions, Set};
use mtrec::data::loaders::{load_table, taobao};

mod interactions_support;

/// Events of four pairs across two users; item 10 moves from category 100 to 105, a
/// user written with a leading zero, repeats, and a cut-off last line.
const EVENTS: &str = "1,10,100,pv,1000
1,10,100,cart,900
01,11,101,pv,1100
2,10,105,buy,1200
1,10,105,pv,1300
2,12,102,fav,1250
2,12,102,pv,1260
2,10";

fn cfg(loader: Loader) -> DataConfig {
    DataConfig {
        files: vec!["ub.csv".into()],
        loader,
        bad_rows: BadRows::Skip,
        ..Default::default()
    }
}

fn column(t: &RawTable, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap();
    (0..c.len()).map(|r| c.get(r).to_string()).collect()
}

#[test]
fn s8valrank_taobao_rows_are_the_interactions_pairs_of_the_same_lines() {
    let dir = interactions_support::temp_dir("s8valrank", "taobao-pairs");
    std::fs::write(dir.join("ub.csv"), EVENTS).unwrap();
    let t = load_table(&cfg(Loader::Taobao), &dir, &[]).unwrap();
    assert_eq!(t.names, taobao::COLUMNS);
    //           user item cat  click cart fav buy first n
    let rows: Vec<Vec<String>> = (0..t.num_rows())
        .map(|r| t.columns.iter().map(|c| c.get(r).to_string()).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["1", "10", "100", "1", "1", "0", "0", "900", "3"],
            ["1", "11", "101", "1", "0", "0", "0", "1100", "1"],
            ["2", "10", "105", "0", "0", "0", "1", "1200", "1"],
            ["2", "12", "102", "1", "0", "1", "0", "1250", "2"],
        ]
    );
    assert_eq!(t.skipped.count, 1, "the cut-off line");
    // the same pairs through the preset: one aggregation
    let (ic, dialect) = taobao::preset();
    let inter = aggregate(&cfg(Loader::Taobao), &ic, &dialect, &dir).unwrap();
    assert_eq!(inter.labels, ["click", "cart", "fav", "buy"]);
    assert_eq!(inter.pairs.len(), t.num_rows());
    for (r, p) in inter.pairs.iter().enumerate() {
        assert_eq!(inter.users[p.user as usize], column(&t, "user_id")[r]);
        assert_eq!(inter.items[p.item as usize], column(&t, "item_id")[r]);
        assert_eq!(p.time.to_string(), column(&t, "first_time")[r]);
        assert_eq!(p.events.to_string(), column(&t, "n_events")[r]);
        assert_eq!(p.set, Set::Train, "the preset does not split");
    }
    // the interactions loader on the same lines: the same pairs, labels and times
    let mut icfg = cfg(Loader::Interactions);
    icfg.interactions = Some(ic);
    let same = read_interactions(&icfg, &dir).unwrap();
    let key =
        |i: &mtrec::data::loaders::interactions::Interactions| -> Vec<(String, String, u32, i64)> {
            i.pairs
                .iter()
                .map(|p| {
                    (
                        i.users[p.user as usize].clone(),
                        i.items[p.item as usize].clone(),
                        p.flags,
                        p.time,
                    )
                })
                .collect()
        };
    // interactions reads ids as text: `01` is its own user there
    let mut expected = key(&inter);
    expected[1].0 = "01".into();
    assert_eq!(key(&same), expected);
}

#[test]
fn s8valrank_taobao_refuses_the_tables_only_interactions_reads() {
    let dir = interactions_support::temp_dir("s8valrank", "taobao-refuse");
    std::fs::write(dir.join("ub.csv"), EVENTS).unwrap();
    for c in [
        DataConfig {
            negatives: Some(NegativesConfig::default()),
            ..cfg(Loader::Taobao)
        },
        DataConfig {
            ranking: Some(RankingConfig::default()),
            ..cfg(Loader::Taobao)
        },
    ] {
        let e = load_table(&c, &dir, &[]).unwrap_err().to_string();
        assert!(
            e.contains("data.loader = \"interactions\"") && e.contains("taobao_implicit.toml"),
            "{e}"
        );
    }
}
