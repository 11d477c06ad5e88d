#!/usr/bin/env python3
"""Checks `mtrec export` against `mtrec predict` with onnxruntime.

For each run: `mtrec predict` scores the rows, `mtrec export --feed` writes the ONNX model
and the same rows encoded as its inputs, onnxruntime runs the model, and every task's
output must match predict's column within --tol (default 1e-5; predict writes 6
decimals).

    check.py --mtrec target/release/mtrec --run R --input rows.csv [--data-dir D]
    check.py --mtrec target/release/mtrec --self-test   # every architecture on a small
                                                          # generated table (what .ci/run does)

`mtrec seq` runs (SASRec): the export takes the history window as model item ids (the
index of each original id in the run's ids.json) and gives the scores of every catalogue
item. The check maps histories through ids.json itself (what a caller does), runs the
model, and compares with `mtrec predict --run R` on (history, item) pairs given with the
original ids: next_item_logit (predict's `score`, the logit plus the prior, for a run
that ranks with a transition prior), next_item (softmax over the row), rank, and rating /
like when the run has those heads, for every catalogue item (or --seq-items of them).

    check.py --seq-run R [--seq-users N] [--seq-items M] # N random histories of R's items
    check.py --seq-movielens R --data-dir ../shared/data  # an ml-100k seq run, item text
                                 # too: summary.json's test metrics from the ONNX scores
    check.py --seq-self-test     # a small sequences data set: its test users' histories
                                 # (+ an empty one) against predict, and summary.json's test
                                 # HR@10 / NDCG@10 / MRR recomputed from the ONNX scores

Text features of `mtrec train` runs are float inputs named after the text column (the
text embedded by the run's encoder; `mtrec export --feed` writes them).
`--text-self-test` trains MMoE with a text feature (linear and MoE adaptors; needs the
MiniLM encoder under --models-dir, default ../shared/models) and checks it as above.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ARCHS = ["single_task", "shared_bottom", "omoe", "mmoe", "cgc", "ple", "esmm", "aitm"]


def sh(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{r.stderr}")
    return r


def check_run(mtrec, run, rows, work, tol, data_dir=None, models_dir=None):
    extra = ["--data-dir", data_dir] if data_dir else []
    if models_dir:
        extra += ["--models-dir", models_dir]
    pred, model, feed = (os.path.join(work, n) for n in ("pred.csv", "model.onnx", "feed.json"))
    sh([mtrec, "predict", "--run", run, "--input", rows, "--output", pred, "--no-keys", "--force", *extra])
    sh([mtrec, "export", "--run", run, "--onnx", model, "--feed", rows, "--feed-out", feed, "--force", *extra])
    with open(feed) as f:
        feeds = {k: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in json.load(f).items()}
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    with open(pred) as f:
        table = list(csv.DictReader(f))
    worst = 0.0
    for name, out in zip(names, outs):
        want = np.array([float(r[name]) for r in table], dtype=np.float64)
        got = out.reshape(-1).astype(np.float64)
        if got.shape != want.shape:
            sys.exit(f"{run}: task {name}: onnxruntime gave {got.shape[0]} rows, predict {want.shape[0]}")
        worst = max(worst, float(np.max(np.abs(got - want))))
    ok = worst <= tol
    print(f"{'ok ' if ok else 'FAIL'} {run}: {len(table)} rows, outputs {', '.join(names)}, max |onnx - predict| = {worst:.2e}")
    return ok


def write_fixture(d):
    """The events table of tests/events_support (user, item, genres, price; three tasks)."""
    rnd = random.Random(7)
    with open(os.path.join(d, "events.csv"), "w") as f:
        f.write("user,item,price,genres,click,buy,watch\n")
        for i in range(600):
            u, it = rnd.randrange(20), rnd.randrange(30)
            price = rnd.randrange(1000) / 100
            genres = ["a|b", "b", "c|a", ""][rnd.randrange(4)]
            click = int((u + it) % 3 == 0)
            buy = "" if i % 7 == 0 else str(int(click == 1 and price < 5))
            f.write(f"{u},{it},{price},{genres},{click},{buy},{u * 0.1 + price * 0.05:.3f}\n")


def config(arch):
    tasks = '[[tasks]]\nname = "click"\ntype = "binary"\ncolumn = "click"\n' \
            '[[tasks]]\nname = "buy"\ntype = "binary"\ncolumn = "buy"\n'
    if arch not in ("esmm", "aitm"):
        tasks += '[[tasks]]\nname = "watch"\ntype = "regression"\ncolumn = "watch"\n'
    return f"""
[data]
files = ["events.csv"]
header = true
missing_values = [""]
[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[[features]]
name = "genres"
kind = "multi_hot"
dim = 3
separator = "|"
[[features]]
name = "price"
kind = "numeric"
{tasks}
[split]
kind = "random"
seed = 7
[model]
arch = "{arch}"
num_experts = 3
expert = [8, 6]
tower = [4]
activation = "{"gelu" if ARCHS.index(arch) % 2 else "relu"}"
[train]
lr = 0.01
batch_size = 64
epochs = 3
seed = 3
[train.early_stopping]
task = "click"
metric = "auc"
"""


def self_test(mtrec, tol):
    ok = True
    with tempfile.TemporaryDirectory() as d:
        write_fixture(d)
        for arch in ARCHS:
            with open(os.path.join(d, f"{arch}.toml"), "w") as f:
                f.write(config(arch))
            run = os.path.join(d, f"run_{arch}")
            sh([mtrec, "train", "--quiet", "--config", os.path.join(d, f"{arch}.toml"),
                "--data-dir", d, "--out", run])
            ok &= check_run(mtrec, run, os.path.join(d, "events.csv"), d, tol)
    return ok


TITLES = ["space", "love", "war", "robot", "detective", "ocean"]


def write_text_fixture(d):
    """The events table with a title per item (its text feature)."""
    write_fixture(d)
    with open(os.path.join(d, "events.csv")) as f:
        rows = list(csv.reader(f))
    with open(os.path.join(d, "events_text.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0] + ["title"])
        for r in rows[1:]:
            it = int(r[1])
            w.writerow(r + [f"a {TITLES[it % 6]} film number {it}"])


TEXT_FEATURE = """[features.text]
column = "title"
mode = "text+id"
encoder = "all-MiniLM-L6-v2"
adaptor = "{adaptor}"
experts = 2
dim = 5
"""


def text_config(adaptor):
    """MMoE of the self-test with a text feature on `item` (its title)."""
    cfg = config("mmoe").replace('files = ["events.csv"]', 'files = ["events_text.csv"]')
    marker = '[[features]]\nname = "genres"'
    return cfg.replace(marker, TEXT_FEATURE.format(adaptor=adaptor) + marker, 1)


def text_self_test(mtrec, tol, models_dir):
    ok = True
    with tempfile.TemporaryDirectory() as d:
        write_text_fixture(d)
        for adaptor in ["linear", "moe"]:
            cfg = os.path.join(d, f"text_{adaptor}.toml")
            with open(cfg, "w") as f:
                f.write(text_config(adaptor))
            run = os.path.join(d, f"run_text_{adaptor}")
            sh([mtrec, "train", "--quiet", "--config", cfg, "--data-dir", d, "--out", run,
                "--models-dir", models_dir])
            ok &= check_run(mtrec, run, os.path.join(d, "events_text.csv"), d, tol,
                            models_dir=models_dir)
    return ok


def export_seq(mtrec, run, work, extra=()):
    model = os.path.join(work, "sasrec.onnx")
    sh([mtrec, "export", "--run", run, "--onnx", model, "--force", *extra])
    with open(os.path.join(work, "sasrec.inputs.json")) as f:
        meta = json.load(f)
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]), meta


def history_feed(histories, index, max_len):
    """Original ids -> the `history` input: model ids, last max_len, right-padded with 0."""
    feed = np.zeros((len(histories), max_len), dtype=np.int64)
    for b, h in enumerate(histories):
        ids = [index[i] for i in h if i in index][-max_len:]
        feed[b, :len(ids)] = ids
    return feed


def rank_of(row, j):
    """1 + #{other items scoring >= item j} (ties against the item, metrics::rank_of)."""
    return 1 + int(np.sum(np.delete(row, j) >= row[j]))


def check_seq_run(mtrec, run, work, tol, histories=None, users=20, n_items=None, seed=3,
                  data_dir=None):
    """ONNX scores of the SASRec export against `mtrec predict` on (history, item) pairs."""
    extra = ["--data-dir", data_dir] if data_dir else []
    sess, meta = export_seq(mtrec, run, work, extra)
    items = meta["items"]  # index = model id, items[0] = <pad>
    index = {k: j for j, k in enumerate(items) if j > 0}
    max_len = meta["inputs"][0]["shape"][1]
    rnd = random.Random(seed)
    if histories is None:
        histories = [[items[rnd.randrange(1, len(items))] for _ in range(rnd.randrange(1, 2 * max_len))]
                     for _ in range(users)]
    names = [o.name for o in sess.get_outputs()]
    outs = dict(zip(names, sess.run(names, {"history": history_feed(histories, index, max_len)})))
    cand = list(range(1, len(items)))
    if n_items and n_items < len(cand):
        cand = rnd.sample(cand, n_items)
    pairs = os.path.join(work, "pairs.csv")
    with open(pairs, "w") as f:
        f.write("history,item\n")
        for h in histories:
            for j in cand:
                f.write(f"{' '.join(h)},{items[j]}\n")
    pred = os.path.join(work, "pairs_scored.csv")
    sh([mtrec, "predict", "--run", run, "--input", pairs, "--output", pred, "--force", *extra])
    with open(pred) as f:
        table = list(csv.DictReader(f))
    logits = outs["next_item"].astype(np.float64)  # (B, V)
    mx = logits.max(1, keepdims=True)
    lse = (np.log(np.exp(logits - mx).sum(1, keepdims=True)) + mx)[:, 0]
    worst, rank_diff, r = {}, 0, 0
    for b in range(len(histories)):
        for j in cand:
            row = table[r]
            r += 1
            # a run with a transition prior: the export's next_item is predict's `score`
            score = "score" if "score" in row else "next_item_logit"
            got = {score: logits[b, j - 1], "next_item": np.exp(logits[b, j - 1] - lse[b])}
            for head in ("rating", "like"):
                if head in outs:
                    got[head] = float(outs[head][b, j - 1])
            for k, v in got.items():
                worst[k] = max(worst.get(k, 0.0), abs(float(row[k]) - float(v)))
            rank_diff = max(rank_diff, abs(rank_of(logits[b], j - 1) - int(row["rank"])))
    ok = all(w <= tol for w in worst.values()) and rank_diff == 0
    print(f"{'ok ' if ok else 'FAIL'} {run} (seq): {len(histories)} histories x {len(cand)} items, outputs "
          f"{', '.join(names)}; max |onnx - predict|: "
          + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()) + f"; max rank difference {rank_diff}")
    return ok, outs, index


def seq_sequences():
    """60 users walking a cycle of 24 items with a user-specific stride (tests/i15seq_cli)."""
    out = []
    for u in range(60):
        n, stride = 3 + u % 8, 1 + u % 3
        out.append((f"user{u:02}", [f"sku-{(u * 5 + j * stride) % 24:02}" for j in range(n)]))
    return out


SEQ_MODEL = """max_len = 6
[model]
dim = 16
blocks = {blocks}
heads = {heads}
dropout = 0.0
[train]
epochs = 3
batch_size = 16
lr = 0.01
patience = 0
seed = 3
"""


def seq_self_test(mtrec, tol):
    """The test users of a small sequences data set: every (history, catalogue item) pair
    against predict, and the summary's test metrics recomputed from the ONNX scores."""
    ok = True
    seqs = seq_sequences()
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "data", "shop"))
        with open(os.path.join(d, "data", "shop", "user_sequence.txt"), "w") as f:
            for u, s in seqs:
                f.write(f"{u} {' '.join(s)}\n")
        for blocks, heads, prior in [(1, 2, ""), (2, 1, ""), (1, 2, "transition_prior = [2.0, 5.0]\n")]:
            name = f"{blocks}{'_prior' if prior else ''}"
            cfg = os.path.join(d, f"seq_{name}.toml")
            with open(cfg, "w") as f:
                f.write('[data]\nformat = "sequences"\ndir = "shop"\nseed = 5\n'
                        + SEQ_MODEL.format(blocks=blocks, heads=heads).replace("[train]", prior + "[train]"))
            run = os.path.join(d, f"seq_run_{name}")
            sh([mtrec, "seq", "--quiet", "--config", cfg, "--data-dir", os.path.join(d, "data"),
                "--out", run])
            if prior:
                with open(os.path.join(run, "summary.json")) as f:
                    w = json.load(f).get("transition_prior", {}).get("weight", 0)
                print(f"{run}: transition prior weight {w} (the export adds it when > 0)")
                ok &= w > 0
            hist = [s[:-1] for _, s in seqs]  # the test holdouts: the last item is the target
            good, outs, index = check_seq_run(mtrec, run, d, tol, histories=hist + [[]])
            ok &= good
            ok &= check_summary(run, outs["next_item"][:len(seqs)], [index[s[-1]] for _, s in seqs])
    return ok


def check_summary(run, logits, targets):
    """HR@10, NDCG@10 and MRR of the test targets (full ranking, ties against the target)
    from the ONNX scores, against the run's summary.json."""
    ranks = np.array([rank_of(row, t - 1) for row, t in zip(logits, targets)])
    got = {"hr10": float(np.mean(ranks <= 10)),
           "ndcg10": float(np.mean(np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0))),
           "mrr": float(np.mean(1 / ranks))}
    with open(os.path.join(run, "summary.json")) as f:
        want = json.load(f)["test"]
    worst = max(abs(got[k] - want[k]) for k in got)
    ok = worst <= 1e-6
    print(f"{'ok ' if ok else 'FAIL'} {run} (seq): test metrics from the ONNX scores "
          + ", ".join(f"{k} {got[k]:.4f}/{want[k]:.4f}" for k in got) + f" (onnx/summary), max diff {worst:.1e}")
    return ok


def movielens_test(data_dir):
    """The test holdouts of the ml-100k preset as `mtrec seq` builds them: each user's
    ratings sorted by (timestamp, item id); users with 3+ items; history = all but the
    last, target = the last (data::sequences::load_movielens, leave_last_out)."""
    by_user = {}
    with open(os.path.join(data_dir, "ml-100k", "u.data"), encoding="latin-1") as f:
        for line in f:
            if line.strip():
                u, i, _, t = line.split("\t")
                by_user.setdefault(int(u), []).append((int(t), int(i)))
    out = []
    for u in sorted(by_user):
        s = [str(i) for _, i in sorted(by_user[u])]
        if len(s) >= 3:
            out.append((s[:-1], s[-1]))
    return out


def check_movielens_summary(mtrec, run, data_dir, models_dir):
    """Test HR@10 / NDCG@10 / MRR of an ml-100k seq run (any item_input, text too, which
    mtrec predict does not score) recomputed from the ONNX scores, against summary.json."""
    with tempfile.TemporaryDirectory() as d:
        sess, meta = export_seq(mtrec, run, d, ["--data-dir", data_dir, "--models-dir", models_dir])
        index = {k: j for j, k in enumerate(meta["items"]) if j > 0}
        max_len = meta["inputs"][0]["shape"][1]
        test = movielens_test(data_dir)
        logits = np.concatenate([
            sess.run(["next_item"], {"history": history_feed([h for h, _ in test[b:b + 256]], index, max_len)})[0]
            for b in range(0, len(test), 256)])
        print(f"     {run}: item_input = {meta['item_input']}, {len(test)} test users")
        return check_summary(run, logits, [index[t] for _, t in test])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mtrec", default="target/release/mtrec")
    p.add_argument("--run", action="append", default=[])
    p.add_argument("--input")
    p.add_argument("--data-dir")
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--seq-self-test", action="store_true")
    p.add_argument("--text-self-test", action="store_true")
    p.add_argument("--models-dir", default="../shared/models")
    p.add_argument("--seq-run", action="append", default=[])
    p.add_argument("--seq-users", type=int, default=20)
    p.add_argument("--seq-items", type=int, default=None)
    p.add_argument("--seq-movielens", action="append", default=[],
                   help="an ml-100k seq run: its test metrics from the ONNX scores (needs --data-dir)")
    a = p.parse_args()
    ok = True
    if a.self_test:
        ok &= self_test(a.mtrec, a.tol)
    if a.seq_self_test:
        ok &= seq_self_test(a.mtrec, a.tol)
    if a.text_self_test:
        ok &= text_self_test(a.mtrec, a.tol, os.path.abspath(a.models_dir))
    for r in a.seq_run:
        with tempfile.TemporaryDirectory() as d:
            ok &= check_seq_run(a.mtrec, r, d, a.tol, users=a.seq_users, n_items=a.seq_items,
                                data_dir=a.data_dir)[0]
    if a.run:
        if not a.input:
            p.error("--run needs --input (the rows to score)")
        with tempfile.TemporaryDirectory() as d:
            for r in a.run:
                ok &= check_run(a.mtrec, r, a.input, d, a.tol, a.data_dir)
    for r in a.seq_movielens:
        ok &= check_movielens_summary(a.mtrec, r, a.data_dir or "../shared/data",
                                      os.path.abspath(a.models_dir))
    if not (a.self_test or a.run or a.seq_self_test or a.text_self_test or a.seq_run
            or a.seq_movielens):
        p.error("give --run R --input rows.csv, --seq-run R, or a --*self-test")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
