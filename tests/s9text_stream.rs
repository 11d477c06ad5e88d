//! Text features in the streamed cache build (issue #17 §1, src/data/cache/build/text.rs):
//! the cache folder (set files with each row's text id, `texts-<t>.json`, spec with the
//! encoder's width, report, meta) is the in-memory build's byte for byte, at 1–3
//! threads, for quoted titles with commas and doubled quotes, non-ASCII titles, missing
//! and blank titles, padded titles (`trim` on and off), a title seen only in a row
//! dropped for a bad value, and a text feature without an id embedding.

mod s9text_support;

use s9text_support::{assert_streams_like_memory, build, config, temp_dir, xorshift, ENV};
use std::path::Path;

const TITLES: [&str; 12] = [
    "toy story",
    "\"Heat, the movie (1995)\"",
    "\"The \"\"Best\"\" one, again\"",
    "Amélie",
    "\"naïve, café\"",
    "東京物語",
    "NA",
    "",
    "  toy story  ",
    "\" padded, quoted \"",
    "a",
    "toy",
];

/// `n` rows of user, item, title (from [`TITLES`], some unique), author, blurb, price,
/// click;
/// row 777 has a bad price and the only `only in a bad row` title.
fn write_rows(dir: &Path, n: usize) {
    let mut next = xorshift(41);
    let mut s = String::from("user,item,title,author,blurb,price,click\n");
    for i in 0..n {
        let (u, it) = (next() % 20, next() % 40);
        let title = if i == 777 {
            "\"only in a bad row, é\"".to_string()
        } else if i % 97 == 5 {
            format!("\"unique {i}, \"\"q\"\"\"")
        } else {
            TITLES[(it % 12) as usize].to_string()
        };
        let blurb = format!("b{} ü", next() % 9);
        let price = if i == 777 {
            "oops".to_string()
        } else {
            format!("{}", (next() % 500) as f64 / 10.0)
        };
        s += &format!(
            "{u},{it},{title},w{},{blurb},{price},{}\n",
            u % 3,
            (u + it) % 2
        );
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

fn run_config(extra_data: &str) -> String {
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = ["NA"]
bad_rows = "skip"
{extra_data}

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
min_count = 3
[features.text]
column = "title"
mode = "text+id"
encoder = "test-double"
adaptor = "linear"
dim = 4
[[features]]
name = "author"
kind = "categorical"
dim = 4
[features.text]
column = "blurb"
mode = "text"
encoder = "test-double"
adaptor = "linear"
dim = 4
[[features]]
name = "price"
kind = "numeric"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 5
train = 0.6
valid = 0.2

[model]
arch = "shared_bottom"
bottom = [4]
tower = [4]
"#
    )
}

fn texts(files: &[(String, Vec<u8>)], name: &str) -> Vec<String> {
    let f = files.iter().find(|f| f.0 == name).expect(name);
    serde_json::from_slice(&f.1).unwrap()
}

#[test]
fn a_streamed_text_cache_is_the_in_memory_cache_byte_for_byte() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("text", 700);
    write_rows(&dir, 2500);
    let cfg = config(&dir, &run_config(""));
    let (skipped, files) = assert_streams_like_memory(&cfg, &dir);
    assert_eq!(skipped.count, 1, "the bad price row");
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert!(names.contains(&"texts-1.json"), "{names:?}");
    let titles = texts(&files, "texts-0.json");
    // quotes taken off, doubled quotes undone, commas and non-ASCII kept, trimmed
    for t in [
        "Heat, the movie (1995)",
        "The \"Best\" one, again",
        "naïve, café",
        "東京物語",
        "NA",
        "",
        "padded, quoted",
        "only in a bad row, é",
    ] {
        assert!(titles.iter().any(|x| x == t), "{t:?} not in {titles:?}");
    }
    // "  toy story  " is trimmed by the reader (trim = true): one text
    assert_eq!(titles.iter().filter(|x| *x == "toy story").count(), 1);
    // the spec carries the encoder's width, as in memory
    let spec = &files.iter().find(|f| f.0 == "spec.json").unwrap().1;
    assert!(String::from_utf8_lossy(spec).contains("\"d_text\": 3"));
}

#[test]
fn untrimmed_titles_stream_like_the_in_memory_path() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("untrimmed", 500);
    write_rows(&dir, 1500);
    let cfg = config(&dir, &run_config("trim = false"));
    let (_, files) = assert_streams_like_memory(&cfg, &dir);
    // two codes ("toy story", "  toy story  "), both written trimmed
    let titles = texts(&files, "texts-0.json");
    assert_eq!(titles.iter().filter(|x| *x == "toy story").count(), 2);
}

#[test]
fn a_title_spanning_lines_still_builds_through_the_in_memory_reader() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("multiline", 400);
    write_rows(&dir, 600);
    let mut csv = std::fs::read_to_string(dir.join("rows.csv")).unwrap();
    csv += "3,4,\"two\nlines\",w1,b1,2.5,1\n";
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    let cfg = config(&dir, &run_config(""));
    let (_, sets, _) = build(&cfg, &dir, "streamed", 2, true).unwrap();
    assert!(
        !sets.streamed,
        "a quoted field spanning lines must fall back"
    );
    let (_, mem, _) = build(&cfg, &dir, "mem", 2, false).unwrap();
    let a = std::fs::read(sets.dir.join("texts-0.json")).unwrap();
    let b = std::fs::read(mem.dir.join("texts-0.json")).unwrap();
    assert_eq!(a, b);
    assert!(String::from_utf8_lossy(&a).contains("two\\nlines"));
}
