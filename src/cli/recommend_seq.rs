//! `mtrec recommend` on an `mtrec seq` run (SASRec): every catalogue item ranked from the
//! user's whole sequence by the run's score (the model's, plus its transition prior where
//! its evaluation chose one), history left out; `--eval` repeats `mtrec seq`'s test protocol.
//! The work is in [`crate::recommend::seq`].

use super::recommend::RecommendArgs;
use crate::error::{Error, Result};
use crate::recommend::output::{Format, ListWriter};
use crate::recommend::seq::{log_sum_exp, SeqRecommender};
use crate::recommend::Ranked;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// The flags that mean nothing for a sequence run: an error naming the first one given.
fn refuse_mmoe_flags(args: &RecommendArgs) -> Result<()> {
    let given = [
        ("--user-features", args.user_features.is_some()),
        ("--item-features", args.item_features.is_some()),
        ("--item-column", args.item_column.is_some()),
        ("--catalogue", args.catalogue.is_some()),
        ("--fusion", args.fusion.is_some()),
        ("--weight", !args.weights.is_empty()),
        ("--filter-task", args.filter_task.is_some()),
        ("--threshold", args.threshold.is_some()),
        ("--rank-task", args.rank_task.is_some()),
        ("--diversity-column", args.diversity_column.is_some()),
        ("--sweep", !args.sweep.is_empty()),
        ("--two-tower", args.two_tower),
        ("--plain", args.plain),
    ];
    match given.iter().find(|(_, g)| *g) {
        Some((flag, _)) => Err(Error::Config {
            what: flag.to_string(),
            message: "applies to multi-task (mtrec train) runs; this is an mtrec seq run, \
                      which ranks by its next-item score (leave the flag out)"
                .into(),
        }),
        None => Ok(()),
    }
}

/// The user ids of `--users FILE`: the first field of each line, a header equal to the
/// user column skipped.
fn read_users(path: &Path, column: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(n, l)| (n, l.split(',').next().unwrap_or("").trim()))
        .filter(|&(n, u)| !(u.is_empty() || (n == 0 && u == column)))
        .map(|(_, u)| u.to_string())
        .collect())
}

/// The allow-list of `--candidates FILE` as catalogue indices; reports unknown ids.
fn allow_list(path: &Path, r: &SeqRecommender) -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let (mut out, mut unknown) = (Vec::new(), 0usize);
    for id in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match r.data.item_id(id) {
            Some(i) => out.push(i - 1),
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        eprintln!(
            "candidates: {unknown} of the ids in {} are not in the catalogue and are left out",
            path.display()
        );
    }
    Ok(out)
}

pub fn run(args: &RecommendArgs, format: Option<Format>, data_dir: &Path) -> Result<()> {
    refuse_mmoe_flags(args)?;
    let t0 = Instant::now();
    crate::text::progress::set_enabled(!args.quiet); // the item-text embedding's bar
    let r = SeqRecommender::load_with_models(&args.run, data_dir, args.models_dir.as_deref())?;
    eprintln!(
        "seq run: {} users, catalogue {} items ({}), loaded in {:.1}s{}",
        r.data.seqs.len(),
        r.num_items(),
        r.data.name,
        t0.elapsed().as_secs_f64(),
        match &r.prior {
            Some(p) => format!(
                "; ranked with the run's transition prior, weight {} (summary.json)",
                p.weight
            ),
            None => String::new(),
        }
    );
    if args.eval {
        if let Some(out) = &args.output {
            return Err(Error::Config {
                what: "--output".into(),
                message: format!(
                    "with --eval on an mtrec seq run no lists are written, so {} would stay missing; leave out --eval to write the lists, or --output to evaluate",
                    out.display()
                ),
            });
        }
        let m = r.evaluate(args.k)?;
        println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
        return Ok(());
    }
    let users = requested_users(args, &r)?;
    let allow = args
        .candidates
        .as_deref()
        .map(|p| allow_list(p, &r))
        .transpose()?;
    let exclude = !args.include_history;
    let names = vec!["next_item".to_string()];
    let (Some(out), Some(format)) = (&args.output, format) else {
        unreachable!("checked by recommend::run")
    };
    let mut writer = ListWriter::create(out, format, &names)?;
    let v = r.num_items();
    let allow_mask = allow.map(|a| {
        let mut m = vec![false; v];
        for i in a {
            m[i as usize] = true;
        }
        m
    });
    let t_score = Instant::now();
    let lists = rank_users(&r, &users, allow_mask.as_deref(), exclude, args.k)?;
    let secs = t_score.elapsed().as_secs_f64();
    let mut short = 0usize;
    for (&u, list) in users.iter().zip(&lists) {
        short += usize::from(list.len() < args.k);
        writer.write_list(&r.data.users[u], list, r.item_keys())?;
    }
    writer.finish()?;
    if short > 0 {
        eprintln!(
            "{short} of {} users got fewer than {} items: too few candidates are left after the history and allow-list",
            users.len(),
            args.k
        );
    }
    let pairs = users.len() as f64 * v as f64;
    eprintln!(
        "scored {} users × {v} items = {pairs:.0} pairs in {secs:.2}s ({:.0} pairs/s)",
        users.len(),
        pairs / secs.max(1e-9)
    );
    eprintln!(
        "wrote {} lists of up to {} items to {}",
        users.len(),
        args.k,
        out.display()
    );
    Ok(())
}

/// The run's users whose lists to write: every user, or the ids of `--users`.
fn requested_users(args: &RecommendArgs, r: &SeqRecommender) -> Result<Vec<usize>> {
    Ok(match &args.users {
        None => (0..r.data.seqs.len()).collect(),
        Some(p) => {
            let index: HashMap<&str, usize> = r
                .data
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.as_str(), i))
                .collect();
            let ids = read_users(p, args.user_column.as_deref().unwrap_or("user_id"))?;
            let unknown: Vec<&String> = ids
                .iter()
                .filter(|u| !index.contains_key(u.as_str()))
                .collect();
            if let Some(first) = unknown.first() {
                return Err(Error::Config {
                    what: format!("--users {}", p.display()),
                    message: format!(
                        "{} user(s) have no sequence in the run's data (first: `{first}`); a sequence model needs the user's history",
                        unknown.len()
                    ),
                });
            }
            ids.iter().map(|u| index[u.as_str()]).collect()
        }
    })
}

/// The top-`k` list of each of `users`, scored in batches of `recommend::seq::BATCH`.
fn rank_users(
    r: &SeqRecommender,
    users: &[usize],
    allow_mask: Option<&[bool]>,
    exclude: bool,
    k: usize,
) -> Result<Vec<Vec<Ranked>>> {
    let v = r.num_items();
    // users in order of their window length, so that a batch pads little; the lists
    // are written in the users' order
    let max_len = r.model.cfg.max_len;
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.sort_by_key(|&n| r.data.seqs[users[n]].len().min(max_len));
    let mut lists: Vec<Vec<Ranked>> = vec![Vec::new(); users.len()];
    for chunk in order.chunks(crate::recommend::seq::BATCH) {
        let hist: Vec<&[u32]> = chunk
            .iter()
            .map(|&n| r.data.seqs[users[n]].as_slice())
            .collect();
        let mut s = r.scores(&r.hidden(&hist)?); // (B, V)
        let done: Vec<Vec<Ranked>> = s
            .par_chunks_mut(v)
            .zip(&hist)
            .map(|(row, h)| {
                r.add_prior(row, h); // the run's transition prior, if it ranks with one
                let lse = log_sum_exp(row);
                let ex: &[u32] = if exclude { h } else { &[] };
                r.top_k(row, ex, allow_mask, k)
                    .into_iter()
                    .map(|(score, item)| Ranked {
                        item,
                        score,
                        tasks: vec![(score as f64 - lse).exp() as f32],
                    })
                    .collect()
            })
            .collect();
        for (&n, list) in chunk.iter().zip(done) {
            lists[n] = list;
        }
    }
    Ok(lists)
}
