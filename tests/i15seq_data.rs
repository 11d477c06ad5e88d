//! Issue #15, `mtrec seq` on any data set: the generic readers (`data.format =
//! "sequences"` / `"interactions"`, item text, encodings) and the configuration that
//! selects them. Each file is written here to a temp folder.

use mtrec::data::sequences::generic::{Delimiter, InteractionsFormat};
use mtrec::data::sequences::{
    load_beauty, load_interactions, load_sequence_file, read_item_text, Encoding, IdMaps,
};
use mtrec::train::seq::{load_data, SeqRunConfig};
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i15seq-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fmt(encoding: Encoding, header: bool) -> InteractionsFormat {
    InteractionsFormat {
        encoding,
        delimiter: Delimiter::Auto,
        header,
        time_column: 3,
    }
}

fn keys(data: &mtrec::data::sequences::SeqData, u: usize) -> Vec<&str> {
    data.seqs[u]
        .iter()
        .map(|&i| data.item_keys[i as usize].as_str())
        .collect()
}

#[test]
fn i15seq_interactions_are_ordered_by_timestamp_per_user_ties_in_file_order() {
    let d = folder("order");
    let p = d.join("log.csv");
    std::fs::write(
        &p,
        "user,item,ts\nbob,i3,30\nann,i1,20\nbob,i1,10\nann,i2,5\nbob,i2,30\nann,i3,20\n",
    )
    .unwrap();
    let data = load_interactions(&p, fmt(Encoding::Utf8, true), "log", 1).unwrap();
    assert_eq!(
        data.users,
        vec!["bob", "ann"],
        "users in order of first appearance"
    );
    assert_eq!(
        keys(&data, 0),
        vec!["i1", "i3", "i2"],
        "bob: 10, then the two 30s in file order"
    );
    assert_eq!(
        keys(&data, 1),
        vec!["i2", "i1", "i3"],
        "ann: 5, then the two 20s in file order"
    );
    // without timestamps: file order; TSV detected from the tab
    let p = d.join("log.tsv");
    std::fs::write(&p, "bob\ti3\nann\ti1\nbob\ti1\n").unwrap();
    let data = load_interactions(&p, fmt(Encoding::Utf8, false), "log", 1).unwrap();
    assert_eq!(keys(&data, 0), vec!["i3", "i1"]);
    assert_eq!(data.name, "log");
}

#[test]
fn i15seq_malformed_lines_name_file_and_line() {
    let d = folder("malformed");
    let cases = [
        (
            "one_field.csv",
            "u1,i1,1\nu2\n",
            ":2:",
            "user, item and timestamp",
        ),
        (
            "bad_time.csv",
            "u1,i1,1\nu1,i2,1\nu2,i1,yesterday\n",
            ":3:3",
            "a number",
        ),
        ("no_time.csv", "u1,i1,1\nu1,i2\n", ":2:", "timestamp"),
        ("empty_id.csv", "u1,i1\n,i2\n", ":2:1", "user id"),
    ];
    for (name, text, at, expected) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let err = load_interactions(&p, fmt(Encoding::Utf8, false), "x", 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{name}{at}")), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
    let p = d.join("seqs.txt");
    std::fs::write(&p, "u1 a b c\nu2\n").unwrap();
    let err = load_sequence_file(&p, Encoding::Utf8, "x", 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("seqs.txt:2:2") && err.contains("at least one item"),
        "{err}"
    );
    std::fs::write(&p, "u1 a b c\nu2 a\nu1 c\n").unwrap();
    let err = load_sequence_file(&p, Encoding::Utf8, "x", 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("seqs.txt:3:1") && err.contains("one line only"),
        "{err}"
    );
}

#[test]
fn i15seq_item_text_is_utf8_unless_latin1_is_asked() {
    let d = folder("text");
    let p = d.join("seqs.txt");
    std::fs::write(&p, "u1 a b c\nu2 b c a\n").unwrap();
    let mut data = load_sequence_file(&p, Encoding::Utf8, "x", 1).unwrap();
    // UTF-8 file: "Crème brûlée" read as written
    let t = d.join("items_utf8.tsv");
    std::fs::write(
        &t,
        "item\ttitle\na\tCrème brûlée\nb,Café, au lait\nzz\tnot in the catalogue\n",
    )
    .unwrap();
    assert_eq!(read_item_text(&t, Encoding::Utf8, &mut data).unwrap(), 2);
    let id = |k: &str| data.item_id(k).unwrap() as usize;
    assert_eq!(data.item_text[id("a")], "Crème brûlée");
    assert_eq!(data.item_text[id("b")], "Café, au lait");
    assert_eq!(data.item_text[id("c")], "");
    // the same words in Latin-1 bytes: an error at the byte under UTF-8, text under latin-1
    let l = d.join("items_latin1.txt");
    let mut bytes = b"a Cr".to_vec();
    bytes.push(0xE8); // è in Latin-1
    bytes.extend_from_slice(b"me\nb Caf");
    bytes.push(0xE9); // é
    bytes.push(b'\n');
    std::fs::write(&l, &bytes).unwrap();
    let err = read_item_text(&l, Encoding::Utf8, &mut data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("items_latin1.txt:1:5"), "{err}");
    assert!(err.contains("0xE8") && err.contains("latin-1"), "{err}");
    assert_eq!(read_item_text(&l, Encoding::Latin1, &mut data).unwrap(), 2);
    let id = |k: &str| data.item_id(k).unwrap() as usize;
    assert_eq!(data.item_text[id("a")], "Crème");
    assert_eq!(data.item_text[id("b")], "Café");
    // an item with two texts is an error naming both lines
    let t2 = d.join("twice.txt");
    std::fs::write(&t2, "a one\nb two\na three\n").unwrap();
    let err = read_item_text(&t2, Encoding::Utf8, &mut data)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("twice.txt:3:1") && err.contains("line 1"),
        "{err}"
    );
}

fn config(data: &str) -> String {
    format!("[data]\n{data}\nmax_len = 5\n[model]\ndim = 8\nblocks = 1\n[train]\nepochs = 1\n")
}

#[test]
fn i15seq_sequences_format_reads_beauty_files_as_the_preset_does() {
    let d = folder("preset");
    std::fs::create_dir_all(d.join("beauty")).unwrap();
    std::fs::write(
        d.join("beauty/user_sequence.txt"),
        "A1 B9 B2 B3\nA2 B2 B9\nA3 B3 B2 B1 B9\n",
    )
    .unwrap();
    std::fs::write(
        d.join("beauty/item_generative_indexing_phase_0.txt"),
        "B9 red lipstick\nB1 soap bar\n",
    )
    .unwrap();
    let preset = load_beauty(&d.join("beauty"), 42).unwrap();
    let cfg = SeqRunConfig::parse(
        &config("dataset = \"amazon-beauty\"\nformat = \"sequences\"\ndir = \"beauty\"\nitem_text = \"item_generative_indexing_phase_0.txt\""),
        "t",
        &[],
    )
    .unwrap();
    let generic = load_data(&cfg, &d).unwrap();
    assert_eq!(generic, preset, "same users, item ids, sequences and texts");
    // the preset configuration still selects the preset reader
    let cfg = SeqRunConfig::parse(
        &config("dataset = \"amazon-beauty\"\ndir = \"beauty\""),
        "t",
        &[],
    )
    .unwrap();
    assert_eq!(load_data(&cfg, &d).unwrap(), preset);
}

#[test]
fn i15seq_config_needs_a_format_for_unknown_names_and_refuses_misplaced_keys() {
    let err = SeqRunConfig::parse(&config("dataset = \"my-shop\"\ndir = \"x\""), "t", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.format") && err.contains("interactions"),
        "{err}"
    );
    let err = SeqRunConfig::parse(&config("dir = \"x\"\nformat = \"parquet\""), "t", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("parquet"), "{err}");
    let err = SeqRunConfig::parse(
        &config("dataset = \"ml-100k\"\ndir = \"x\"\nencoding = \"latin-1\""),
        "t",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("data.encoding") && err.contains("preset"),
        "{err}"
    );
    let err = SeqRunConfig::parse(
        &config("dir = \"x\"\nformat = \"interactions\"\nencoding = \"koi8\""),
        "t",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("koi8"), "{err}");
    let err = SeqRunConfig::parse(
        &config("dir = \"x\"\nformat = \"interactions\""),
        "t",
        &["model.rating_head=true".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("rating_head") && err.contains("ml-100k"),
        "{err}"
    );
    let ok = SeqRunConfig::parse(
        &config("dir = \"shop\"\nformat = \"interactions\"\nheader = true\ndelimiter = \";\""),
        "t",
        &[],
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn i15seq_id_maps_round_trip_and_refuse_other_data() {
    let d = folder("ids");
    let p = d.join("log.csv");
    std::fs::write(&p, "u1,x\nu1,y\nu2,y\nu2,z\n").unwrap();
    let data = load_interactions(&p, fmt(Encoding::Utf8, false), "log", 3).unwrap();
    let ids = IdMaps::of(&data, Path::new(&d));
    ids.write(&d).unwrap();
    let back = IdMaps::read(&d).unwrap().unwrap();
    assert_eq!(back, ids);
    assert_eq!(back.users, vec!["u1", "u2"]);
    for (i, k) in back.items.iter().enumerate().skip(1) {
        assert_eq!(
            data.item_id(k),
            Some(i as u32),
            "items[{i}] is the original id of model id {i}"
        );
    }
    back.check(&data, &d).unwrap();
    std::fs::write(&p, "u1,x\nu1,y\nu2,y\nu2,w\n").unwrap();
    let other = load_interactions(&p, fmt(Encoding::Utf8, false), "log", 3).unwrap();
    let err = back.check(&other, &d).unwrap_err().to_string();
    assert!(err.contains("other item ids"), "{err}");
}

#[test]
fn i15seq_time_column_picks_the_timestamp_field() {
    // MovieLens's u.data layout: user, item, rating, timestamp
    let d = folder("timecol");
    std::fs::write(
        d.join("u.data"),
        "1\t10\t1\t300\n1\t20\t5\t100\n1\t30\t3\t200\n",
    )
    .unwrap();
    let cfg = |extra: &str| {
        let data = format!(
            "dataset = \"ml\"\nformat = \"interactions\"\ndir = \".\"\nfile = \"u.data\"\n{extra}"
        );
        SeqRunConfig::parse(&config(&data), "t", &[]).unwrap()
    };
    let by_time = load_data(&cfg("time_column = 4"), &d).unwrap();
    assert_eq!(keys(&by_time, 0), vec!["20", "30", "10"]);
    let by_field_3 = load_data(&cfg(""), &d).unwrap();
    assert_eq!(
        keys(&by_field_3, 0),
        vec!["10", "30", "20"],
        "the default reads field 3"
    );
    let none = load_data(&cfg("time_column = 0"), &d).unwrap();
    assert_eq!(keys(&none, 0), vec!["10", "20", "30"], "file order");
    let err = SeqRunConfig::parse(
        &config("format = \"interactions\"\ndir = \"x\"\ntime_column = 2"),
        "t",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("data.time_column"), "{err}");
}

#[test]
#[ignore = "needs ../shared/data"]
fn i15seq_real_beauty_through_the_sequences_format_equals_the_preset() {
    let dir =
        PathBuf::from(std::env::var_os("MTREC_DATA").expect("set MTREC_DATA to ../shared/data"));
    let preset = load_beauty(&dir.join("amazon-beauty"), 42).unwrap();
    let cfg = SeqRunConfig::parse(
        &config("dataset = \"amazon-beauty\"\nformat = \"sequences\"\ndir = \"amazon-beauty\"\nseed = 42"),
        "t",
        &[],
    )
    .unwrap();
    let generic = load_data(&cfg, &dir).unwrap();
    assert_eq!(generic.users, preset.users);
    assert_eq!(generic.item_keys, preset.item_keys);
    assert_eq!(generic.seqs, preset.seqs);
    assert_eq!(generic.num_interactions(), 198_502);
}
