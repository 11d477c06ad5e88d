//! `docs/math.md` is the index of the engine's math: every file and test it names must
//! exist, and every op and loss must have its gradient check listed there.

use mtrec::autograd::OpKind;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Backticked spans of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Every Rust source under `dir`, concatenated.
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push_str(&sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

fn snake(kind: OpKind) -> String {
    let name = format!("{kind:?}").replace("MatMul", "Matmul");
    let mut s = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(ch.to_ascii_lowercase());
    }
    s
}

#[test]
fn math_md_names_files_and_tests_that_exist() {
    let math = std::fs::read_to_string(root().join("docs/math.md")).unwrap();
    let tests = sources(&root().join("tests")) + &sources(&root().join("src"));
    let mut files = 0;
    let mut fns = 0;
    for line in math.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').collect();
        for span in code_spans(line) {
            if span.starts_with("src/") && span.ends_with(".rs") {
                assert!(
                    root().join(span).is_file(),
                    "docs/math.md names {span}, which does not exist"
                );
                files += 1;
            }
        }
        // The last column of each table row lists tests.
        if let Some(test_cell) = cells.iter().rev().find(|c| !c.trim().is_empty()) {
            for span in code_spans(test_cell) {
                let name = span;
                if !span.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    || span.starts_with("src")
                {
                    continue;
                }
                if span.chars().any(|c| c.is_ascii_uppercase()) || span.len() < 8 {
                    continue; // formulas, not test names
                }
                assert!(
                    tests.contains(&format!("fn {name}(")) || tests.contains(&format!("{name} =>")),
                    "docs/math.md names test `{name}`, which does not exist"
                );
                fns += 1;
            }
        }
    }
    assert!(
        files > 20 && fns > 30,
        "docs/math.md should index the engine ({files} files, {fns} tests found)"
    );
}

#[test]
fn math_md_lists_the_gradient_check_of_every_op_and_loss() {
    let math = std::fs::read_to_string(root().join("docs/math.md")).unwrap();
    for kind in OpKind::ALL {
        let test = format!("gradcheck_{}", snake(kind));
        assert!(
            math.contains(&test),
            "docs/math.md does not list `{test}` for {kind:?}"
        );
    }
}
