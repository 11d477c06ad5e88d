//! Text features in the streamed cache build (issue #17 §1, src/data/cache/build/text.rs):
//! the cache folder (set files with each row's text id, `texts-<t>.json`, spec with the
//! encoder's width, report, meta) is the in-memory build's byte for byte, at 1–3
//! threads, for quoted titles with commas and doubled quotes, non-ASCII titles, missing
//! and blank titles, padded titles (`trim` on and off), a title seen only in a row
//! dropped for a bad value, and a text feature without an id embedding.

mod s9text_support;

use s9text_support::{assert_streams_like_memory, build, config, temp_dir, texts, xorshift, ENV};
use s9text_support::{
    file_bytes, numeric, random_split, text_of, user_item, CLICK_TASK, TINY_SHARED_BOTTOM,
};
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
    let user_item = user_item(3);
    let (title, blurb) = (text_of("title", "text+id"), text_of("blurb", "text"));
    let price = numeric("price");
    let split = random_split(5, 0.6, 0.2);
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = ["NA"]
bad_rows = "skip"
{extra_data}

{user_item}{title}[[features]]
name = "author"
kind = "categorical"
dim = 4
{blurb}{price}
{CLICK_TASK}
{split}
{TINY_SHARED_BOTTOM}"#
    )
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
    let titles = texts(&files, 0);
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
    let spec = file_bytes(&files, "spec.json");
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
    let titles = texts(&files, 0);
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
