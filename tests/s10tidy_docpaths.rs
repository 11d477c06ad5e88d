//! Every source path (`src/...`: a `.rs` file or a folder) that `README.md` or a
//! `docs/*.md` page names must exist, so a pointer does not outlive a moved file. A
//! missing one fails naming the doc, the line and the path.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A character of a path as the docs write them.
fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// The `src/...` paths in `line`: each starts at a `src/` that does not continue a longer
/// path or word (`../src/x.rs` and `mtrec/src/x.rs` are other trees' or relative
/// paths), runs over path characters and loses a trailing `.` (the end of a sentence).
fn src_paths(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices("src/") {
        if line[..at].chars().next_back().is_some_and(path_char) {
            continue;
        }
        let len = line[at..]
            .find(|c: char| !path_char(c))
            .unwrap_or(line.len() - at);
        out.push(line[at..at + len].trim_end_matches('.'));
    }
    out
}

/// The pages checked: README.md and docs/*.md.
fn doc_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    pages.sort();
    pages
}

/// `doc:line: path` for every named source path that does not exist under `root`.
fn missing(root: &Path, doc: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for p in src_paths(line) {
            if !root.join(p).exists() {
                out.push(format!("{doc}:{}: {p}", i + 1));
            }
        }
    }
    out
}

#[test]
fn the_scan_finds_paths_and_names_the_missing_ones() {
    assert_eq!(
        src_paths("see `src/train/seq/step.rs`, src/data/cache/ and src/lib.rs."),
        ["src/train/seq/step.rs", "src/data/cache/", "src/lib.rs"]
    );
    assert!(src_paths("../src/x.rs and mtrec/src/y.rs and resrc/z.rs").is_empty());
    let text = "line one\n`src/lib.rs` and `src/nowhere/gone.rs`\n";
    assert_eq!(
        missing(root(), "docs/x.md", text),
        ["docs/x.md:2: src/nowhere/gone.rs"]
    );
}

#[test]
fn every_source_path_named_in_the_docs_exists() {
    let mut all = Vec::new();
    let mut named = 0;
    for page in doc_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let doc = page.strip_prefix(root()).unwrap().display().to_string();
        named += text.lines().map(|l| src_paths(l).len()).sum::<usize>();
        all.extend(missing(root(), &doc, &text));
    }
    assert!(named > 50, "only {named} source paths found in the docs");
    assert!(
        all.is_empty(),
        "the docs name source paths that do not exist (point them at the file's new home):\n{}",
        all.join("\n")
    );
}
