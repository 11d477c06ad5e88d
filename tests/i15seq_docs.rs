//! Issue #15: every key of `mtrec seq`'s configuration is documented. The keys are taken
//! from the configuration itself (a config with every optional key set, written back as
//! TOML), so a key added to `src/train/seq/config.rs` without a line in
//! docs/sequences.md fails here.

use mtrec::train::seq::SeqRunConfig;

#[test]
fn i15seq_every_seq_config_key_is_documented() {
    let text = "baselines = [\"transition\"]\n\
        [data]\ndataset = \"shop\"\ndir = \"shop\"\nformat = \"interactions\"\nfile = \"a.csv\"\n\
        item_text = \"t.tsv\"\n\
        [model]\n[train]\ninit_from = \"x\"\nmax_memory = \"8G\"\nfreeze = [\"block0\"]\n";
    let cfg = SeqRunConfig::parse(text, "t", &[]).unwrap();
    let written: toml::Value = toml::from_str(&cfg.to_toml().unwrap()).unwrap();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sequences.md")).unwrap();
    let mut keys = Vec::new();
    for (section, v) in written.as_table().unwrap() {
        match v.as_table() {
            Some(t) => keys.extend(t.keys().map(|k| format!("{section}.{k}"))),
            None => keys.push(section.clone()),
        }
    }
    assert!(keys.len() > 30, "all keys are written: {keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            !docs
                .lines()
                .any(|l| l.starts_with('|') && l.contains(&format!("`{k}`")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/sequences.md has no table row for {missing:?}"
    );
}
