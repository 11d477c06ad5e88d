//! Layers that point down: every `crate::<module>` path in `src/` names a module on the
//! importing module's own line of the layer list in `src/lib.rs`, or on a line above it.
//!
//! The list is read from the ```` ```text ```` block under "Layers of the crate" in
//! `src/lib.rs`: a line that starts in the first column names one layer (`config, data`),
//! indented lines continue its description. Code is read with its comments removed, so a
//! doc link to a higher module is no import. Both `use crate::a::b` and
//! `use crate::{a, b::c}` count, and so does a path used inline (`crate::a::f()`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Imports that may point up, each `"from -> to"` (none: keep it that way).
const ALLOWED_UP: &[&str] = &[];

/// The layer list of `src/lib.rs`: each module with the index of its line.
fn layers(lib: &str) -> BTreeMap<String, usize> {
    let start = lib
        .find("## Layers of the crate")
        .expect("src/lib.rs has a `## Layers of the crate` section");
    let block = &lib[start..];
    let open = block
        .find("```text")
        .expect("the layer list is a ```text block")
        + 7;
    let close = open + block[open..].find("```").expect("the ```text block ends");
    let mut out = BTreeMap::new();
    let mut line_no = 0;
    for line in block[open..close].lines() {
        let line = line.trim_start_matches("//!");
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.is_empty() || line.starts_with(' ') {
            continue; // a continued description
        }
        let names = line.split("  ").next().unwrap_or("");
        for name in names.split(',') {
            let name = name.trim();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "layer list line `{line}`: `{name}` is no module name"
            );
            out.insert(name.to_string(), line_no);
        }
        line_no += 1;
    }
    out
}

/// The code of one file with `//` and `/* */` comments removed (string literals kept,
/// so a `//` inside a string does not end the line early).
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() {
                out.push_str(&src[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            out.push(c as char);
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if c == b'"' && !(i > 0 && b[i - 1] == b'\'' && b.get(i + 1) == Some(&b'\'')) {
            in_str = true;
            out.push('"');
            i += 1;
        } else {
            // Copy one whole character (the source is UTF-8).
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a piece of code names through `crate::`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + 7..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `mtrec_crate::` or similar
        }
        let tail = rest.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first name of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        out.push(ident_at(&group[i..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(tail);
            if !name.is_empty() {
                out.push(name.to_string());
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every import of `src/` that points up the list, as `"from -> to (file)"`, and the
/// modules missing from the list.
fn violations(root: &Path) -> (Vec<String>, Vec<String>) {
    let src = root.join("src");
    let layer = layers(&fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let (mut up, mut unlisted) = (Vec::new(), Vec::new());
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue; // the crate root and the binary (which imports `mtrec::`)
        }
        let Some(&from) = layer.get(&module) else {
            unlisted.push(format!("{module} ({})", rel.display()));
            continue;
        };
        let code = strip_comments(&fs::read_to_string(&file).unwrap());
        for to in crate_paths(&code) {
            // `crate::Error` / `crate::Result` are the root's re-exports of `error`.
            let to = if to == "Error" || to == "Result" {
                "error".to_string()
            } else {
                to
            };
            match layer.get(&to) {
                Some(&at) if at > from => {
                    up.push(format!("{module} -> {to} ({})", rel.display()));
                }
                Some(_) => {}
                None => unlisted.push(format!("{to} (named in {})", rel.display())),
            }
        }
    }
    up.sort();
    up.dedup();
    unlisted.sort();
    unlisted.dedup();
    (up, unlisted)
}

#[test]
fn every_import_in_src_points_down_the_layer_list_of_lib_rs() {
    let (up, unlisted) = violations(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        unlisted.is_empty(),
        "modules missing from the layer list of src/lib.rs (add them on the line of their layer): {unlisted:#?}"
    );
    let unexpected: Vec<&String> = up
        .iter()
        .filter(|v| !ALLOWED_UP.iter().any(|a| v.starts_with(&format!("{a} ("))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "imports that point up the layer list of src/lib.rs (move the type down, or the module's line): {unexpected:#?}"
    );
    let stale: Vec<&&str> = ALLOWED_UP
        .iter()
        .filter(|a| !up.iter().any(|v| v.starts_with(&format!("{a} ("))))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED_UP names imports that no longer exist; remove them: {stale:?}"
    );
}

#[test]
fn the_layer_list_is_read_line_by_line() {
    let lib = "//! ## Layers of the crate\n//!\n//! ```text\n//! tensor            matrices\n//! autograd, ops     tape\n//!                   continued\n//! metrics, checkpoint\n//!                   desc\n//! cli               binary\n//! ```\n";
    let l = layers(lib);
    assert_eq!(l["tensor"], 0);
    assert_eq!((l["autograd"], l["ops"]), (1, 1));
    assert_eq!((l["metrics"], l["checkpoint"]), (2, 2));
    assert_eq!(l["cli"], 3);
    assert_eq!(l.len(), 6);
}

#[test]
fn imports_are_found_in_use_lines_groups_and_inline_paths_but_not_in_comments() {
    let code = strip_comments(
        "use crate::nn::Linear;\nuse crate::{loss, ops::{gemm, Op}};\n/// see [`crate::train`]\nlet x = crate::data::f(); // crate::cli\n/* crate::serve */ let s = \"// crate::tune\";\npub(crate) fn f() {}\n",
    );
    let mut found = crate_paths(&code);
    found.sort();
    // "crate::tune" inside a string literal is kept by the comment stripper and found:
    // no source file spells a module path in a string.
    assert_eq!(found, ["data", "loss", "nn", "ops", "tune"]);
}

#[test]
fn an_upward_import_is_reported() {
    let dir = std::env::temp_dir().join(format!("h16layers_imports_{}", std::process::id()));
    let src = dir.join("src");
    fs::create_dir_all(src.join("nn")).unwrap();
    fs::write(
        src.join("lib.rs"),
        "//! ## Layers of the crate\n//! ```text\n//! tensor  t\n//! nn      n\n//! config  c\n//! ```\n",
    )
    .unwrap();
    fs::write(src.join("tensor.rs"), "use crate::error::Error;\n").unwrap();
    fs::write(
        src.join("nn").join("input.rs"),
        "use crate::config::AdaptorChoice;\nuse crate::tensor::Tensor;\n",
    )
    .unwrap();
    fs::write(src.join("config.rs"), "use crate::nn::Linear;\n").unwrap();
    let (up, unlisted) = violations(&dir);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(up, ["nn -> config (nn/input.rs)"]);
    assert_eq!(unlisted, ["error (named in tensor.rs)"]);
}
