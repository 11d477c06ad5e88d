//! Every preset in configs/ parses and names its loader; the loader key's default and
//! errors.

mod loaders_support;

use loaders_support::*;
use mtrec::config::data::Loader;
use mtrec::config::RunConfig;

// ---------------------------------------------------------------------------------
// Configuration
#[test]
fn every_preset_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // `mtrec seq` presets have their own format (tests/sequences.rs parses them)
            if path.to_string_lossy().contains("sasrec") {
                continue;
            }
            if let Err(e) = RunConfig::from_file(&path, &[]) {
                panic!("{}: {e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 9, "found only {n} presets in configs/");
}

#[test]
fn presets_use_their_loaders() {
    let expect = [
        ("movielens_mmoe.toml", Loader::Movielens),
        ("taobao_mmoe.toml", Loader::Taobao),
        ("ali_ccp_esmm.toml", Loader::AliCcp),
        ("aliexpress_mmoe.toml", Loader::Aliexpress),
        ("kuairand_mmoe.toml", Loader::Kuairand),
        ("census_mmoe.toml", Loader::Csv),
    ];
    for (file, loader) in expect {
        let cfg = RunConfig::from_file(configs_dir().join(file), &[]).unwrap();
        assert_eq!(cfg.data.loader, loader, "{file}");
        // The resolved configuration keeps the loader.
        let again = RunConfig::from_str(&cfg.to_toml_string().unwrap(), file, &[]).unwrap();
        assert_eq!(again, cfg, "{file}");
    }
}

#[test]
fn loader_key_defaults_to_csv_and_rejects_unknown_names() {
    let text = "[data]\nfiles = [\"a.csv\"]\ncolumns = [\"x\", \"y\"]\n\n[[features]]\nname = \"x\"\nkind = \"numeric\"\n\n[[tasks]]\nname = \"y\"\ntype = \"binary\"\ncolumn = \"y\"\n";
    assert_eq!(
        RunConfig::from_str(text, "x.toml", &[])
            .unwrap()
            .data
            .loader,
        Loader::Csv
    );
    let cfg = RunConfig::from_str(text, "x.toml", &["data.loader=ali_ccp".into()]).unwrap();
    assert_eq!(cfg.data.loader, Loader::AliCcp);
    let bad = text.replace("[data]\n", "[data]\nloader = \"movielenz\"\n");
    let msg = RunConfig::from_str(&bad, "x.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("x.toml:2:10: key `data.loader`"), "{msg}");
    assert!(msg.contains("movielens"), "{msg}");
}
