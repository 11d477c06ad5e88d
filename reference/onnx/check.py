#!/usr/bin/env python3
"""Checks `mtrec export` against `mtrec predict` with onnxruntime.

For each run: `mtrec predict` scores the rows, `mtrec export --feed` writes the ONNX model
and the same rows encoded as its inputs, onnxruntime runs the model, and every task's
output must match predict's column within --tol (default 1e-5; predict writes 6
decimals).

    check.py --mtrec target/release/mtrec --run R --input rows.csv [--data-dir D]
    check.py --mtrec target/release/mtrec --self-test   # every architecture on a small
                                                          # generated table (what .ci/run does)
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


def check_run(mtrec, run, rows, work, tol, data_dir=None):
    extra = ["--data-dir", data_dir] if data_dir else []
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mtrec", default="target/release/mtrec")
    p.add_argument("--run", action="append", default=[])
    p.add_argument("--input")
    p.add_argument("--data-dir")
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--self-test", action="store_true")
    a = p.parse_args()
    ok = True
    if a.self_test:
        ok &= self_test(a.mtrec, a.tol)
    if a.run:
        if not a.input:
            p.error("--run needs --input (the rows to score)")
        with tempfile.TemporaryDirectory() as d:
            for r in a.run:
                ok &= check_run(a.mtrec, r, a.input, d, a.tol, a.data_dir)
    if not a.self_test and not a.run:
        p.error("give --run R --input rows.csv, or --self-test")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
