//! The census-income data prepared as the PyTorch reference prepares it (needs
//! ../shared/data: ignored by default, run with `MTREC_DATA`).

mod features_support;

use features_support::*;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::config::{DataConfig, FeatureConfig, Missing, Scale, SplitConfig, TaskConfig};
use mtrec::data::features::{prepare, EncodedBatch};
use mtrec::data::ingest::read_table;
use mtrec::nn::FeatureInput;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::path::PathBuf;

// ------------------------------------------------------------------ census-income

const CENSUS_COLUMNS: [&str; 42] = [
    "age",
    "class_worker",
    "det_ind_code",
    "det_occ_code",
    "education",
    "wage_per_hour",
    "hs_college",
    "marital_stat",
    "major_ind_code",
    "major_occ_code",
    "race",
    "hisp_origin",
    "sex",
    "union_member",
    "unemp_reason",
    "full_or_part_emp",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "tax_filer_stat",
    "region_prev_res",
    "state_prev_res",
    "det_hh_fam_stat",
    "det_hh_summ",
    "instance_weight",
    "mig_chg_msa",
    "mig_chg_reg",
    "mig_move_reg",
    "mig_same",
    "mig_prev_sunbelt",
    "num_emp",
    "fam_under_18",
    "country_father",
    "country_mother",
    "country_self",
    "citizenship",
    "own_or_self",
    "vet_question",
    "vet_benefits",
    "weeks_worked",
    "year",
    "income_50k",
];

/// As `reference/census/data.py`: these ten numeric, every other column except
/// instance_weight and the two label columns categorical.
const CENSUS_NUMERIC: [&str; 10] = [
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "num_emp",
    "own_or_self",
    "vet_benefits",
    "weeks_worked",
    "year",
];

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn census_income_prepares_as_the_reference() {
    let dir = std::env::var("MTREC_DATA").unwrap_or_else(|_| {
        panic!("set MTREC_DATA to the shared data folder (e.g. MTREC_DATA=../shared/data) to run this test")
    });
    let file = PathBuf::from(&dir).join("census-income/census-income.test.gz");
    assert!(
        file.is_file(),
        "census data not found at {} (MTREC_DATA={dir})",
        file.display()
    );
    let data = DataConfig {
        files: vec!["census-income/census-income.test.gz".into()],
        delimiter: Some(','),
        trim: true,
        columns: Some(CENSUS_COLUMNS.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let skip = ["instance_weight", "marital_stat", "income_50k"];
    let mut features: Vec<FeatureConfig> = CENSUS_COLUMNS
        .iter()
        .filter(|c| !skip.contains(c) && !CENSUS_NUMERIC.contains(c))
        .map(|c| FeatureConfig {
            dim: 8,
            ..categorical(c)
        })
        .collect();
    assert_eq!(features.len(), 29);
    features.extend(
        CENSUS_NUMERIC
            .iter()
            .map(|c| numeric(c, Scale::Standard, Missing::Mean)),
    );
    let tasks = [
        TaskConfig {
            positive: vec!["50000+.".into()],
            ..task("income", "income_50k")
        },
        TaskConfig {
            positive: vec!["Never married".into()],
            ..task("never_married", "marital_stat")
        },
    ];
    let split = SplitConfig {
        seed: 2024,
        train: 0.6,
        valid: 0.2,
        ..Default::default()
    };
    let mut needed: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    needed.extend(["income_50k", "marital_stat"]);
    let t = read_table(&data, std::path::Path::new(&dir), &needed).unwrap();
    assert_eq!(t.num_rows(), 99_762);
    let p = prepare(&t, &features, &tasks, &split, &data.missing_values).unwrap();
    println!("{}", p.report);
    assert_eq!(p.train.len() + p.valid.len() + p.test.len(), 99_762);
    assert_eq!(p.spec.d_in(), 242);
    let positives = |k: usize| -> f32 {
        [&p.train, &p.valid, &p.test]
            .iter()
            .map(|e| e.task_column(k).0.iter().sum::<f32>())
            .sum()
    };
    assert_eq!(positives(0), 6_186.0);
    assert_eq!(positives(1), 43_143.0);
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(0);
    let input = FeatureInput::new(&mut store, "input", &p.spec, &mut rng).unwrap();
    assert_eq!(input.d_in(), 242);
    let mut b = EncodedBatch::default();
    p.train.batch(&(0..256).collect::<Vec<_>>(), &mut b);
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    assert_eq!(g.shape(x), (256, 242));
    // Standardised with training statistics: each numeric column of train has mean ≈ 0.
    for f in 0..10 {
        let m: f64 = (0..p.train.len())
            .map(|r| p.train.num[r * 10 + f] as f64)
            .sum::<f64>()
            / p.train.len() as f64;
        assert!(m.abs() < 1e-4, "numeric {f} has training mean {m}");
    }
}
