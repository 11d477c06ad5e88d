//! The op registry (`src/ops/registry.rs`, docs/adding_an_op.md): every op is one folder,
//! listed once, and cannot be missed by the gradient check.
//!
//! `folder` below matches every `OpKind` without a wildcard, so a new op does not compile
//! this test until it is given its folder here; the tests then check that the folder holds
//! the op (its `impl TapeOp`, its `# Derivation`, a lowering or the explicit refusal), that
//! the registry lists exactly `OpKind::ALL` in order, and that every kind has an entry in
//! the gradient-check registry (`check!(<Kind>, …)` in `tests/`).

use mtrec::autograd::OpKind;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder under `src/ops/` that holds each op.
fn folder(kind: OpKind) -> &'static str {
    match kind {
        OpKind::MatMul => "matmul",
        OpKind::Add | OpKind::Sub | OpKind::Mul | OpKind::Scale => "broadcast",
        OpKind::SumAll
        | OpKind::SumRows
        | OpKind::SumCols
        | OpKind::MeanAll
        | OpKind::MeanRows
        | OpKind::MeanCols => "reduce",
        OpKind::Exp
        | OpKind::Log
        | OpKind::Relu
        | OpKind::Sigmoid
        | OpKind::Tanh
        | OpKind::Gelu => "unary",
        OpKind::Softmax | OpKind::LogSoftmax => "softmax",
        OpKind::ConcatCols | OpKind::SliceCols => "columns",
        OpKind::Gather => "gather",
        OpKind::EmbeddingBag => "embedding_bag",
        OpKind::Dropout => "dropout",
        OpKind::LayerNorm => "layer_norm",
        OpKind::GateCombine => "gate",
        OpKind::LogitProduct => "logit_product",
        OpKind::MseLoss => "mse",
        OpKind::BceWithLogitsLoss => "bce",
        OpKind::SoftmaxCrossEntropyLoss => "softmax_ce",
        OpKind::WeightedSum => "weighted_sum",
        OpKind::Attention => "attention",
        OpKind::MaskedMean | OpKind::L2Normalize => "pooling",
        OpKind::SelectRows => "rows",
        OpKind::LinearAct => "linear_act",
        OpKind::EmbedLinear => "embed_linear",
        OpKind::DistillBceLoss => "distill",
        OpKind::CatalogueCrossEntropyLoss => "catalogue_ce",
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, concatenated.
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out += &sources(&path);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out += &read(&path);
        }
    }
    out
}

#[test]
fn every_op_is_one_folder_with_its_tape_op_derivation_and_lowering() {
    for kind in OpKind::ALL {
        let dir = root().join("src/ops").join(folder(kind));
        let module = read(&dir.join("mod.rs"));
        assert!(
            module.contains("impl TapeOp for"),
            "{kind:?}: src/ops/{}/mod.rs has no `impl TapeOp`",
            folder(kind)
        );
        assert!(
            module.contains("# Derivation"),
            "{kind:?}: src/ops/{}/mod.rs has no `# Derivation`",
            folder(kind)
        );
        assert!(
            dir.join("lower.rs").is_file()
                || module.contains("Err(unsupported(")
                || module.contains("no_device_lowering!()"),
            "{kind:?}: src/ops/{} has neither a lower.rs nor an explicit refusal",
            folder(kind)
        );
    }
}

/// The registry names (the `=> [...]` lists of the `ops { }` section) are `OpKind::ALL`,
/// in order: the enum and the array are generated from that one list.
#[test]
fn the_registry_lists_exactly_op_kind_all_in_order() {
    let registry = read(&root().join("src/ops/registry.rs"));
    let ops = registry
        .split("examples {")
        .next()
        .expect("the registry has an ops section");
    let listed: Vec<String> = ops
        .lines()
        .filter_map(|l| l.split("=> [").nth(1))
        .flat_map(|l| {
            l.trim_end_matches(',')
                .trim_end_matches(']')
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let all: Vec<String> = OpKind::ALL.iter().map(|k| format!("{k:?}")).collect();
    assert_eq!(listed, all);
    let mut sorted = OpKind::ALL.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted,
        OpKind::ALL.to_vec(),
        "distinct, in declaration order"
    );
}

#[test]
fn every_op_kind_has_a_gradient_check_entry() {
    let tests = sources(&root().join("tests"));
    for kind in OpKind::ALL {
        let entry = format!("check!({kind:?},");
        let entry_wrapped = format!("check!(\n        {kind:?},");
        assert!(
            tests.contains(&entry) || tests.contains(&entry_wrapped),
            "{kind:?} has no `check!({kind:?}, …)` in the gradient-check registry"
        );
    }
}

/// The walk-through names files that exist, and its example op is there.
#[test]
fn adding_an_op_names_files_that_exist() {
    let doc = read(&root().join("docs/adding_an_op.md"));
    let mut named = 0;
    for span in doc.split('`').skip(1).step_by(2) {
        if span.starts_with("src/") && !span.contains('<') && !span.contains(' ') {
            let path = root().join(span.trim_end_matches('/'));
            assert!(
                path.exists(),
                "docs/adding_an_op.md names {span}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(
        named >= 5,
        "the walk-through should name its files ({named} found)"
    );
    let example = read(&root().join("src/ops/example/mod.rs"));
    for step in [
        "impl TapeOp for Cube",
        "# Derivation",
        "fn gradcheck_example_cube",
    ] {
        assert!(example.contains(step), "the example op lacks `{step}`");
    }
    assert!(read(&root().join("src/ops/registry.rs")).contains("Cube { a: Var } => [ExampleCube]"));
}
