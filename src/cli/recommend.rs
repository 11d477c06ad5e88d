//! `mtrec recommend`: top-K lists from a run folder for some or all users, and their
//! offline evaluation (`--eval`, `--sweep`). The work is in [`crate::recommend`].

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::recommend::catalogue::SideTable;
use crate::recommend::eval::{heldout, list_metrics, sweep, sweep_grid, sweep_table, Heldout};
use crate::recommend::output::{output_format, Format, ListWriter};
use crate::recommend::{
    DiversityConfig, Fusion, FusionKind, Ranked, RecommendConfig, Recommender, Request, ScoredUser,
    UserRows,
};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct RecommendArgs {
    /// A run folder written by `mtrec train`, or by `mtrec seq` (SASRec: the catalogue
    /// ranked from each user's sequence; see docs/recommend.md), or an ensemble folder
    /// written by `mtrec ensemble` (every member scores, combined; docs/ensemble.md).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Folder of the run's data files [default: $MTREC_DATA, then data/; for an mtrec seq
    /// run: the folder recorded in its ids.json, then $MTREC_DATA, then ../shared/data]:
    /// the training split gives each user's history and the default catalogue.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// CSV with a header: the user column and optionally user features (features not
    /// given are taken from the user's first training row).
    #[arg(long, value_name = "FILE", conflicts_with = "all_users")]
    pub users: Option<PathBuf>,
    /// Every user of the training split.
    #[arg(long)]
    pub all_users: bool,
    /// Length of each list.
    #[arg(long, default_value_t = 20)]
    pub k: usize,
    /// Where the lists go: `.csv` (user,rank,item,score,<one column per task>) or
    /// `.jsonl`. Written atomically; never inside the run folder.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing --output.
    #[arg(long)]
    pub force: bool,
    /// Column naming the user [recommend.user_column, default user_id].
    #[arg(long, value_name = "NAME")]
    pub user_column: Option<String>,
    /// Column naming the item [recommend.item_column, default item_id].
    #[arg(long, value_name = "NAME")]
    pub item_column: Option<String>,
    /// User-side features, comma-separated [recommend.user_features].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub user_features: Option<Vec<String>>,
    /// Item-side features, comma-separated [recommend.item_features].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub item_features: Option<Vec<String>>,
    /// Item catalogue CSV (header; item column and every item feature)
    /// [recommend.catalogue; default: the training split's distinct items].
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Keep items the user interacted with in the training split (left out by default).
    #[arg(long)]
    pub include_history: bool,
    /// Allow-list: a file of item ids, one per line; only these are ranked.
    #[arg(long, value_name = "FILE")]
    pub candidates: Option<PathBuf>,
    /// Fusion of the task outputs: product (Π s_k^w_k), sum (Σ w_k·s_k) or
    /// lexicographic (--filter-task/--threshold, ranked by --rank-task)
    /// [recommend.fusion.kind, default product].
    #[arg(long, value_enum)]
    pub fusion: Option<FusionKind>,
    /// A task's fusion weight, TASK=W (repeatable; replaces recommend.fusion.weights;
    /// tasks not named get 0).
    #[arg(long = "weight", value_name = "TASK=W")]
    pub weights: Vec<String>,
    /// lexicographic: task whose value must reach --threshold.
    #[arg(long, value_name = "TASK")]
    pub filter_task: Option<String>,
    /// lexicographic: the threshold (probability or value).
    #[arg(long, value_name = "X")]
    pub threshold: Option<f64>,
    /// lexicographic: task the kept items are ranked by.
    #[arg(long, value_name = "TASK")]
    pub rank_task: Option<String>,
    /// Diversity: catalogue column whose value is capped by --max-per-value.
    #[arg(long, value_name = "NAME", requires = "max_per_value")]
    pub diversity_column: Option<String>,
    /// Diversity: at most N items per value of --diversity-column in a list.
    #[arg(long, value_name = "N", requires = "diversity_column")]
    pub max_per_value: Option<usize>,
    /// Evaluate the lists of the test split's users against their test items (the
    /// validation items are left out of the candidates too): HR@K, NDCG@K, MRR@K,
    /// coverage, predicted and observed value of each task in the lists (JSON on stdout).
    #[arg(long, conflicts_with_all = ["users", "all_users"])]
    pub eval: bool,
    /// With --eval: TASK=W1,W2,… (repeatable, a grid): one row per weight setting of
    /// the trade-off table (Markdown on stdout).
    #[arg(long, value_name = "TASK=W1,W2", requires = "eval")]
    pub sweep: Vec<String>,
    /// Score with the two-tower split of the first layers (MMoE runs only; the default
    /// for them): each user's and each item's part of the experts' first layer and of
    /// the gates computed once, so a (user, item) pair costs only the rest of the
    /// network. Same scores to ~1e-6. An ensemble folder: each MMoE member scores with
    /// its own split (the others on the plain path, said on stderr), combined as usual.
    /// Given explicitly, a run that is not MMoE (an ensemble with no MMoE member) is an
    /// error.
    #[arg(long, conflicts_with = "plain")]
    pub two_tower: bool,
    /// Score every (user, item) row through the whole network instead of the two-tower
    /// split that MMoE runs use by default (for comparison; same lists).
    #[arg(long)]
    pub plain: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Runs with text features (e.g. movie titles), and mtrec seq runs with text items
    /// (`model.item_input = "text"` / `"text+id"`): folder of pretrained text encoders,
    /// searched first for `[features.text] encoder` (seq: `model.text_model`) [then $MTREC_MODELS, then
    /// <data-dir>/../models, then the working directory]. The catalogue's item-side
    /// texts are embedded once at start through the shared text cache ($MTREC_CACHE/text,
    /// else ~/.cache/mtrec/text): a second start reads them from there.
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

/// The run config's `[recommend]` with the flags laid over it.
pub fn merged_config(
    args: &RecommendArgs,
    base: Option<RecommendConfig>,
) -> Result<RecommendConfig> {
    let mut rec = base.unwrap_or_default();
    let set = |dst: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            dst.clone_from(v);
        }
    };
    set(&mut rec.user_column, &args.user_column);
    set(&mut rec.item_column, &args.item_column);
    if let Some(f) = &args.user_features {
        rec.user_features = f.clone();
    }
    if let Some(f) = &args.item_features {
        rec.item_features = f.clone();
    }
    if let Some(c) = &args.catalogue {
        rec.catalogue = Some(c.display().to_string());
    }
    if args.include_history {
        rec.exclude_history = false;
    }
    if let Some(k) = args.fusion {
        rec.fusion.kind = k;
    }
    if !args.weights.is_empty() {
        rec.fusion.weights.clear();
        for w in &args.weights {
            let bad = || Error::Config {
                what: format!("--weight {w}"),
                message: "should read TASK=W, e.g. --weight like=1".into(),
            };
            let (t, x) = w.split_once('=').ok_or_else(bad)?;
            rec.fusion
                .weights
                .insert(t.trim().to_string(), x.trim().parse().map_err(|_| bad())?);
        }
    }
    set(&mut rec.fusion.filter_task, &args.filter_task);
    set(&mut rec.fusion.rank_task, &args.rank_task);
    if args.threshold.is_some() {
        rec.fusion.threshold = args.threshold;
    }
    if let (Some(column), Some(n)) = (&args.diversity_column, args.max_per_value) {
        rec.diversity = Some(DiversityConfig {
            column: column.clone(),
            max_per_value: n,
        });
    }
    Ok(rec)
}

fn progress(n: usize, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(n as u64);
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else if let Ok(s) =
        ProgressStyle::with_template("scoring [{bar:30}] {pos}/{len} users  {per_sec}  ETA {eta}")
    {
        bar.set_style(s.progress_chars("=> "));
    }
    bar
}

/// The allow-list's catalogue indices; reports ids not in the catalogue.
fn allow_list(path: &Path, r: &Recommender) -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let ids: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n, l.trim()))
        .filter(|&(n, id)| !(id.is_empty() || (n == 0 && id == r.rec.item_column())))
        .map(|(_, id)| id)
        .collect();
    let (out, unknown) = r.item_indices(&ids);
    if unknown > 0 {
        eprintln!(
            "candidates: {unknown} of the ids in {} are not in the catalogue and are left out",
            path.display()
        );
    }
    Ok(out)
}

pub fn run(args: &RecommendArgs) -> Result<()> {
    let format = check_args(args)?;
    if crate::recommend::seq::is_seq_run(&args.run)? {
        let data_dir = super::seq_runs::data_dir(args.data_dir.as_deref(), &args.run)?;
        return super::in_pool(args.threads, || {
            super::recommend_seq::run(args, format, &data_dir)
        });
    }
    let cfg = RunConfig::from_file(
        crate::ensemble::config_dir(&args.run).join("config.toml"),
        &[],
    )?;
    let rec_cfg = merged_config(args, cfg.recommend.clone())?;
    let data_dir = super::train::data_dir(args.data_dir.clone());
    super::in_pool(args.threads, || {
        crate::text::progress::set_enabled(!args.quiet);
        let mut r = Recommender::load_with_models(
            &args.run,
            &data_dir,
            rec_cfg,
            args.models_dir.as_deref(),
        )?;
        let fusion = Fusion::new(&r.rec.fusion, &r.model.cfg.tasks)?;
        r.set_scoring(crate::recommend::Scoring::from_flags(
            args.two_tower,
            args.plain,
        ))?;
        let allow = args
            .candidates
            .as_deref()
            .map(|p| allow_list(p, &r))
            .transpose()?;
        eprintln!(
            "catalogue: {} items from {}{}; {} with an unknown or missing item-side id (scored as out-of-vocabulary)",
            r.catalogue.len(),
            r.catalogue.origin,
            match (&r.rec.catalogue, r.catalogue.origin.ends_with("u.item")) {
                (Some(_), _) => "",
                (None, true) => " (no catalogue file given: every movie of the MovieLens item file)",
                (None, false) => " (no catalogue file given: each item's features from its first training row)",
            },
            r.item_oov
        );
        let held = if args.eval { Some(heldout(&r)?) } else { None };
        if args.eval {
            valid_into_history(&mut r);
        }
        let users = requested_users(args, &r, held.as_ref())?;
        let origin = args
            .users
            .as_ref()
            .map_or("the training split".to_string(), |p| {
                p.display().to_string()
            });
        let table = r.user_table(&users, &origin)?;
        let enc = r.encode_users(&table)?;
        let unknown = table
            .ids
            .iter()
            .filter(|u| r.train_users.position(u).is_none())
            .count();
        eprintln!(
            "users: {} ({} not in the training split, so without history; {} with an unknown or missing user-side id)",
            table.len(),
            unknown,
            r.oov_rows(true, &enc.first)
        );
        let req = Request {
            k: args.k,
            fusion: &fusion,
            candidates: allow.as_deref(),
            exclude_history: r.rec.exclude_history,
            max_per_value: r.rec.diversity.as_ref().map(|div| div.max_per_value),
        };
        let names: Vec<String> = r.model.cfg.tasks.iter().map(|t| t.name.clone()).collect();
        let mut writer = match (&args.output, format) {
            (Some(out), Some(f)) => Some(ListWriter::create(out, f, &names)?),
            _ => None,
        };
        let users = Users {
            table: &table,
            enc: &enc,
        };
        let (kept, lists) = score_and_write(args, &r, users, &req, &mut writer, held.is_some())?;
        if let (Some(w), Some(out)) = (writer, &args.output) {
            w.finish()?;
            eprintln!(
                "wrote {} lists of up to {} items to {}",
                table.len(),
                args.k,
                out.display()
            );
        }
        if let Some(h) = held {
            let scored = Scored {
                lists: &lists,
                kept: &kept,
            };
            report_eval(args, &r, &h, scored, &req, &names)?;
        }
        Ok(())
    })
}

/// The lists of `--eval` and the scored users behind them.
#[derive(Clone, Copy)]
struct Scored<'a> {
    lists: &'a [Vec<Ranked>],
    kept: &'a [ScoredUser],
}

/// `--eval`: the list metrics against the held-out interactions, and the `--sweep` table.
fn report_eval(
    args: &RecommendArgs,
    r: &Recommender,
    h: &Heldout,
    scored: Scored<'_>,
    req: &Request<'_>,
    names: &[String],
) -> Result<()> {
    let Scored { lists, kept } = scored;
    let m = list_metrics(lists, &h.rows, r.catalogue.len(), names, args.k)?;
    if h.outside_catalogue > 0 {
        eprintln!(
            "eval: {} test rows name items outside the catalogue and are not counted",
            h.outside_catalogue
        );
    }
    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    if !args.sweep.is_empty() {
        let grid = sweep_grid(&args.sweep)?;
        let rows = sweep(
            r,
            kept,
            &h.rows,
            req,
            r.rec.fusion.kind,
            &r.rec.fusion.weights,
            &grid,
        )?;
        print!("{}", sweep_table(&rows, args.k, names));
    }
    Ok(())
}

/// The checks of the flags that need no run, and the lists' file format (`--output`).
fn check_args(args: &RecommendArgs) -> Result<Option<Format>> {
    if args.k == 0 {
        return Err(Error::Config {
            what: "--k".into(),
            message: "must be at least 1".into(),
        });
    }
    if !args.eval && args.output.is_none() {
        return Err(Error::Config {
            what: "--output".into(),
            message: "is required (or pass --eval to evaluate without writing lists)".into(),
        });
    }
    if !args.eval && args.users.is_none() && !args.all_users {
        return Err(Error::Config {
            what: "users".into(),
            message: "say whose lists to write: --users FILE or --all-users".into(),
        });
    }
    Ok(match &args.output {
        Some(out) => {
            let format = output_format(out)?;
            for input in [&args.users, &args.catalogue].into_iter().flatten() {
                super::output::check_output(out, input, &args.run, args.force)?;
            }
            super::output::check_output(out, &args.run.join("config.toml"), &args.run, args.force)?;
            Some(format)
        }
        None => None,
    })
}

/// `--eval`: the validation interactions are neither history nor targets, so they join
/// the history (and are left out of the lists).
fn valid_into_history(r: &mut Recommender) {
    let t = &r.data.table;
    let (uc, ic) = (
        t.column(r.rec.user_column()).expect("user"),
        t.column(r.rec.item_column()).expect("item"),
    );
    let valid: Vec<(String, u32)> = r
        .data
        .valid
        .iter()
        .filter_map(|&row| {
            r.catalogue
                .position(ic.get(row))
                .map(|i| (uc.get(row).to_string(), i as u32))
        })
        .collect();
    for (u, i) in valid {
        r.history.entry(u).or_default().insert(i);
    }
}

/// Whose lists to make, with their user-side features: the held-out users (`--eval`),
/// the rows of `--users`, or every training user (`--all-users`).
fn requested_users(
    args: &RecommendArgs,
    r: &Recommender,
    held: Option<&Heldout>,
) -> Result<Vec<(String, BTreeMap<String, String>)>> {
    Ok(if let Some(h) = held {
        h.users
            .iter()
            .map(|u| (u.clone(), BTreeMap::new()))
            .collect()
    } else if let Some(p) = &args.users {
        let t = SideTable::read_csv(p, r.rec.user_column(), &[], &r.rec.user_features)?;
        (0..t.len())
            .map(|i| {
                (
                    t.ids[i].clone(),
                    t.names
                        .iter()
                        .zip(&t.columns)
                        .map(|(n, c)| (n.clone(), c[i].clone()))
                        .collect(),
                )
            })
            .collect()
    } else {
        r.train_users
            .ids
            .iter()
            .map(|u| (u.clone(), BTreeMap::new()))
            .collect()
    })
}

/// The users to score: their table and its encoding.
#[derive(Clone, Copy)]
struct Users<'a> {
    table: &'a SideTable,
    enc: &'a UserRows,
}

/// Scores and ranks every user, 256 at a time, writing each list to `writer`. With `keep`
/// (`--eval`) returns the scored users and their lists.
fn score_and_write(
    args: &RecommendArgs,
    r: &Recommender,
    users: Users<'_>,
    req: &Request<'_>,
    writer: &mut Option<ListWriter>,
    keep: bool,
) -> Result<(Vec<ScoredUser>, Vec<Vec<Ranked>>)> {
    let Users { table, enc } = users;
    let bar = progress(table.len(), args.quiet);
    let mut kept = Vec::new(); // scored users, kept for --eval
    let mut lists: Vec<Vec<Ranked>> = Vec::new();
    let short = std::cell::Cell::new(0usize); // lists shorter than K
    let chunk = 256;
    let t_score = std::time::Instant::now();
    for start in (0..table.len()).step_by(chunk) {
        let rows: Vec<usize> = (start..(start + chunk).min(table.len())).collect();
        let ids: Vec<String> = rows.iter().map(|&i| table.ids[i].clone()).collect();
        let scored = r.score_users(&ids, &enc.select(&rows), req, &|n| bar.inc(n))?;
        for (id, s) in ids.iter().zip(&scored) {
            let list = r.rank(s, req);
            if list.len() < args.k {
                short.set(short.get() + 1);
            }
            if let Some(w) = writer.as_mut() {
                w.write_list(id, &list, &r.catalogue.ids)?;
            }
            if keep {
                lists.push(list);
            }
        }
        if keep {
            kept.extend(scored);
        }
    }
    bar.finish_and_clear();
    let secs = t_score.elapsed().as_secs_f64();
    let pairs = table.len() as f64 * r.catalogue.len() as f64;
    eprintln!(
        "scored {} users × {} items = {pairs:.0} pairs in {secs:.2}s ({:.0} pairs/s{})",
        table.len(),
        r.catalogue.len(),
        pairs / secs.max(1e-9),
        if r.uses_two_tower() {
            ", two-tower split"
        } else {
            ", plain"
        }
    );
    if short.get() > 0 {
        eprintln!(
            "{} of {} users got fewer than {} items: too few candidates are left after the history, allow-list, fusion threshold or diversity cap",
            short.get(),
            table.len(),
            args.k
        );
    }
    Ok((kept, lists))
}
