"""Checks that reference/serve scores as mtrec does: every MovieLens 100K row scored by
mmoe_run.MMoE against `mtrec predict` (max |difference| ≤ 1e-5 per task, the CSV has 6
decimals), and lists of mmoe_run.Lists (plain and two-tower) against `mtrec recommend`
for a few users.

    reference/.venv/bin/python reference/serve/check_scores.py --run RUN --data-dir ../shared/data

Runs target/release/mtrec (or --bin) itself, writing into a temporary folder. Exit 1 on
a mismatch.
"""

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import mmoe_run

p = argparse.ArgumentParser()
p.add_argument("--run", required=True)
p.add_argument("--data-dir", default=mmoe_run.ml.default_data_dir())
p.add_argument("--bin", default="target/release/mtrec")
p.add_argument("--users", default="196,1,943,500,42")
a = p.parse_args()
torch.set_num_threads(2)
model = mmoe_run.MMoE(a.run)
ok = True
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "pred.csv"
    subprocess.run([a.bin, "predict", "--run", a.run, "--input", str(Path(a.data_dir) / "ml-100k"),
                    "--output", str(out)], check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    names = [n for n, _ in model.tasks]
    want = np.array([[float(r[n]) for n in names] for r in rows])
    got = mmoe_run.np_scores(model, mmoe_run.read_rows_for_check(a.data_dir))
    diff = np.abs(got - want).max(axis=0)
    for n, d in zip(names, diff):
        print(f"predict: {len(rows)} rows, task {n}: max |python - mtrec| = {d:.2e}")
        ok &= bool(d <= 1e-5)

    lists = mmoe_run.Lists(model, a.data_dir)
    split = mmoe_run.Lists(model, a.data_dir, two_tower=True)
    users = a.users.split(",")
    cands = lists.item_ids[:1000]
    (Path(tmp) / "users.csv").write_text("user_id\n" + "\n".join(users) + "\n")
    (Path(tmp) / "cands.txt").write_text("\n".join(cands) + "\n")
    recs = Path(tmp) / "recs.csv"
    subprocess.run([a.bin, "recommend", "--run", a.run, "--data-dir", a.data_dir, "--users",
                    str(Path(tmp) / "users.csv"), "--candidates", str(Path(tmp) / "cands.txt"),
                    "--k", "10", "--output", str(recs), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(recs) as f:
        mt = list(csv.DictReader(f))
    for u in users:
        theirs = [(r["item"], float(r["score"])) for r in mt if r["user"] == u]
        ours, unknown = lists.recommend(u, {}, cands, 10)
        same_items = [i for i, _ in theirs] == [i for i, _, _ in ours]
        dmax = max(abs(s - t) for (_, s, _), (_, t) in zip(ours, theirs))
        print(f"recommend user {u}: same 10 items in the same order: {same_items}, "
              f"max |score difference| {dmax:.2e}, unknown candidates {unknown}")
        ok &= same_items and dmax <= 1e-5 and unknown == 0
        tt, _ = split.recommend(u, {}, cands, 10)
        same_tt = [i for i, _, _ in tt] == [i for i, _ in theirs]
        dtt = max(abs(s - t) for (_, s, _), (_, t) in zip(tt, theirs))
        print(f"  two-tower split: same items {same_tt}, max |score difference| {dtt:.2e}")
        ok &= same_tt and dtt <= 1e-5
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
