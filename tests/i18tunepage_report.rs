//! `mtrec report runs/tune-X`: the page of a search folder made by a real `mtrec tune` on
//! the small events table: leaderboard rows, the best trial marked, the best trial's test
//! metrics beside the preset's, per-key scatters, escaping, and a killed halving search.

use mtrec::report::svg::num;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod events_support;
use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

const SPACE: &str = r#"
seed = 4
[objective]
task = "click"
metric = "auc"
[halving]
min_epochs = 1
eta = 2
[params]
"train.lr" = { log_uniform = [0.002, 0.05], points = 2 }
"model.num_experts" = [2, 4]
"#;

fn mtrec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
}

/// Runs `mtrec tune` in `dir` into `out` and returns `result.json`.
fn tune(dir: &Path, out: &str, strategy: &str, trials: &str) -> Value {
    let o = mtrec()
        .args(["tune", "--config", "run.toml", "--space", "space.toml"])
        .args(["--strategy", strategy, "--trials", trials, "--out", out])
        .args(["--data-dir", ".", "--threads", "1"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn report(dir: &Path, args: &[&str]) -> std::process::Output {
    mtrec()
        .arg("report")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let a = s
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the page"))
        + start.len();
    let b = s[a..].find(end).unwrap() + a;
    &s[a..b]
}

/// The leaderboard's rows (`<tr>...</tr>` of its body).
fn board_rows(page: &str) -> Vec<&str> {
    let body = between(page, r#"<table class="board">"#, "</table>");
    let body = between(body, "<tbody>", "</tbody>");
    body.split("</tr>").filter(|r| !r.is_empty()).collect()
}

#[test]
fn a_search_page_shows_the_ranked_leaderboard_the_best_and_the_preset() {
    let dir = temp_dir("i18tunepage-random");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 1, "")).unwrap();
    std::fs::write(dir.join("space.toml"), SPACE).unwrap();
    // a folder name that must be escaped wherever it is shown
    let name = "tune<b>&\"q\"";
    let res = tune(&dir, name, "random", "3");
    let out = dir.join(name);
    let o = report(&dir, &[name, "--output", &format!("{name}/report.html")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();

    assert!(
        page.contains("tune&lt;b&gt;&amp;&quot;q&quot;"),
        "the name is escaped"
    );
    assert!(!page.contains("<b>&"), "no raw name in the page");
    assert!(!page.contains("<script"), "no script");

    // every leaderboard.csv row, in its order, with its trial and objective
    let csv = std::fs::read_to_string(out.join("leaderboard.csv")).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let rows = board_rows(&page);
    assert_eq!(rows.len(), recs.len(), "{rows:?}");
    assert_eq!(recs.len(), 4, "trial 0 and three sampled trials");
    for (row, rec) in rows.iter().zip(&recs) {
        let trial = &rec[col("trial")];
        let shown = if trial == "0" {
            "0 (preset)".to_string()
        } else {
            trial.to_string()
        };
        assert!(row.contains(&format!("<td>{shown}</td>")), "{row}");
        let obj: f64 = rec[col("objective")].parse().unwrap();
        assert!(row.contains(&format!("<td>{}</td>", num(obj))), "{row}");
        assert!(row.contains(&format!("<td>{}</td>", &rec[col("train.lr")])) || trial == "0");
        assert!(
            row.contains(&format!(
                r#"<a href="trial-{:03}/">"#,
                trial.parse::<usize>().unwrap()
            )),
            "links relative to the page in the search folder: {row}"
        );
    }
    // exactly the best trial of result.json is marked, and it is rank 1
    let best = res["best"]["trial"].as_u64().unwrap() as usize;
    let marked: Vec<&&str> = rows.iter().filter(|r| r.contains("bestrow")).collect();
    assert_eq!(marked.len(), 1, "{rows:?}");
    assert!(marked[0].contains("★ 1<"), "{}", marked[0]);
    assert_eq!(&recs[0][col("trial")], best.to_string().as_str());

    // the best trial's test metrics beside the preset's, as result.json has them
    let preset_table = between(&page, r#"<table class="preset">"#, "</table>");
    assert!(preset_table.contains(&format!("best (trial-{best:03})")));
    for task in ["click", "buy", "watch"] {
        for (m, v) in res["best"]["test"][task].as_object().unwrap() {
            let Some(v) = v.as_f64() else { continue };
            if m == "labelled" || m == "positives" {
                continue;
            }
            let p = res["preset"]["test"][task][m].as_f64().unwrap();
            let row = between(preset_table, &format!("<th>{task} test {m}</th>"), "</tr>");
            assert!(
                row.contains(&num(p)) && row.contains(&num(v)),
                "{task} {m}: {row}"
            );
        }
    }
    let obj_row = between(preset_table, "<th>valid objective", "</tr>");
    let bo = res["best"]["valid_objective"].as_f64().unwrap();
    let po = res["preset"]["valid_objective"].as_f64().unwrap();
    assert!(
        obj_row.contains(&num(bo)) && obj_row.contains(&num(po)),
        "{obj_row}"
    );

    // objective per trial: one point per journal line; one scatter per searched key
    let journal = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
    let chart = between(&page, "<h2>Objective per trial</h2>", "</svg>");
    assert_eq!(
        chart.matches("<circle").count(),
        journal.lines().count() + 1,
        "points and the best's ring"
    );
    assert!(chart.contains("preset (trial 0)"));
    assert!(page.contains("objective vs train.lr"));
    assert!(page.contains("objective vs model.num_experts"));
    // the top trials' curves beside the preset (the multi-run comparison)
    let top = between(&page, "<h2>Curves of the top 3 trials", "</footer>");
    assert!(top.contains("<h2>Comparison</h2>") && top.contains("trial-000"));
    assert!(top.contains(&format!("trial-{best:03}")));
}

#[test]
fn a_killed_halving_search_shows_what_is_there_per_rung() {
    let dir = temp_dir("i18tunepage-halving");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 3, "")).unwrap();
    std::fs::write(dir.join("space.toml"), SPACE).unwrap();
    tune(&dir, "h", "halving", "4");
    let out = dir.join("h");
    // as a kill leaves it: no result.json nor best.toml, a journal line cut short and
    // the leaderboard written while trial 5 was running
    std::fs::remove_file(out.join("result.json")).unwrap();
    std::fs::remove_file(out.join("best.toml")).unwrap();
    let mut j = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
    let lines = j.lines().count();
    j.push_str("{\"trial\": 5, \"epo");
    std::fs::write(out.join("trials.jsonl"), j).unwrap();
    let mut board = std::fs::read_to_string(out.join("leaderboard.csv")).unwrap();
    let cols = board.lines().next().unwrap().split(',').count();
    board.push_str(&format!(
        "6,5,running,0,{}trial-005,\n",
        ",".repeat(cols - 6)
    ));
    std::fs::write(out.join("leaderboard.csv"), board).unwrap();

    let o = report(&dir, &["h", "--output", "h.html"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(dir.join("h.html")).unwrap();
    assert!(
        page.contains("result.json is missing"),
        "the kill is explained"
    );
    assert!(page.contains("(so far)"));
    let rows = board_rows(&page);
    assert_eq!(rows.len(), 6);
    assert!(rows[5].contains("<td>running</td>"));
    assert!(
        rows[0].contains("bestrow"),
        "the best so far is rank 1: {}",
        rows[0]
    );
    assert!(rows.iter().any(|r| r.contains("<td>pruned</td>")));
    // one colour per rung; every complete journal line is a point
    let chart = between(&page, "<h2>Objective per trial</h2>", "</svg>");
    assert!(chart.contains("One colour per rung"));
    assert_eq!(chart.matches("<circle").count(), lines + 1);
    let legend = between(&page, "<h2>Objective per trial</h2>", "</h2>");
    for b in ["1 epochs", "2 epochs", "3 epochs"] {
        assert!(legend.contains(b), "{b}");
    }
    // the page is written beside the search folder: links go into it
    assert!(rows[0].contains(r#"<a href="h/trial-"#), "{}", rows[0]);
    assert!(page.contains("best.toml is written when the search finishes"));
}

#[test]
fn a_search_folder_is_not_mixed_with_run_folders() {
    let dir = temp_dir("i18tunepage-mixed");
    std::fs::create_dir_all(dir.join("t/trial-000")).unwrap();
    std::fs::write(dir.join("t/search.json"), "{}").unwrap();
    std::fs::write(dir.join("t/trial-000/config.toml"), "").unwrap();
    let o = report(&dir, &["t", "t/trial-000", "--output", "x.html"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("search folder") && err.contains("alone"),
        "{err}"
    );
    // alone, a search that has not finished a trial still gets a page
    let o = report(&dir, &["t", "--output", "x.html"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(dir.join("x.html")).unwrap();
    assert!(page.contains("No trial on the leaderboard yet"));
    assert!(page.contains("leaderboard.csv is missing"));
}
