//! Issue #14 (s7): `mtrec recommend` on a run with a text feature (the item's title,
//! embedded by a tiny BERT written by the test): the catalogue's titles are embedded once
//! through the shared text cache (a second start reads them), the lists' task values
//! equal `mtrec predict` on the same (user, item, title) rows, and the two-tower split
//! (the title's part of the first layer computed once per item) equals the plain path.

mod s7rectext_support;

use s7rectext_support::{assert_close, predict, recommend, setup, train, write_run};

#[test]
fn lists_of_a_text_run_equal_predict_and_a_second_start_reads_the_text_cache() {
    let (dir, model) = setup("lists");
    write_run(&dir, &model);
    let run = train(&dir);

    // first start: the catalogue's titles go through the shared cache
    let (split, first) = recommend(&dir, &run, 4, &[]);
    assert!(first.contains("text cache:"), "{first}");
    assert!(first.contains("two-tower split"), "{first}");
    assert_eq!(split.len(), 8 * 4, "8 users × k = 4");

    // second start: read from the cache, nothing embedded again
    let (plain, second) = recommend(&dir, &run, 4, &["--plain"]);
    assert!(
        second.contains("text cache: read") && !second.contains("text cache: embedded"),
        "the second start embedded the catalogue again: {second}"
    );
    assert!(second.contains(", plain"), "{second}");
    assert_close(&split, &plain, 1e-5);

    // every listed (user, item) scored by predict on its row with the title
    let pairs: Vec<(String, String)> = split
        .iter()
        .map(|(u, i, _)| (u.clone(), i.clone()))
        .collect();
    let want = predict(&dir, &run, &pairs);
    for (u, i, got) in &split {
        let w = &want[&(u.clone(), i.clone())];
        for (a, b) in got.iter().zip(w) {
            assert!(
                (a - b).abs() <= 1e-5,
                "({u}, {i}): {got:?} vs predict {w:?}"
            );
        }
    }
}
