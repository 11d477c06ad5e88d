"""PyTorch reference for the scale benchmark: the AliExpress MMoE of
configs/aliexpress_mmoe.toml trained from the same CSV the way its users do it.

Ingest (timed, `ingest_s`): pandas.read_csv of the whole file, LabelEncoder per
categorical column (ids 0..V-1; +1 so row 0 of each table is free like mtrec's OOV
row), the random split, standard scaling of the 63 numerical columns with the training
split's mean/std, then tensors: the span of mtrec's summary.json `data_seconds` (CSV on
disk → encoded sets ready for the first batch). Outside it: imports, the model, the
training loop (`train_s`) and the test evaluation after it. Split: random 80/10/10
with --seed (mtrec's split draws its own permutation; the sets have the same sizes and
distribution, not the same rows).

Model (≡ src/models/mmoe.rs with the preset): 16 embeddings of width 8 + 63
numerics = 191 inputs; 8 experts Linear(191→64)+ReLU; per task a softmax gate
Linear(191→8) and a tower Linear(64→32)+ReLU+Linear(32→1); BCE-with-logits on
click and conversion, summed; Adam(lr).

Prints one JSON line: rows, ingest_s, train_s, train_samples_per_s, peak_rss_mb,
auc_click, auc_conversion (test split).

  reference/.venv/bin/python reference/scale/train_mmoe.py --csv ae.csv \
      --epochs 1 --batch-size 1024 --threads 2
"""

import argparse
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import LabelEncoder
from torch import nn

CAT = [f"categorical_{i}" for i in range(1, 17)]
NUM = [f"numerical_{i}" for i in range(1, 64)]
TASKS = ["click", "conversion"]
DIM = 8


class MMoE(nn.Module):
    def __init__(self, vocab, n_num, n_experts=8, expert_dim=64, tower=32):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v + 1, DIM) for v in vocab)
        d_in = DIM * len(vocab) + n_num
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(d_in, expert_dim), nn.ReLU()) for _ in range(n_experts)
        )
        self.gates = nn.ModuleList(nn.Linear(d_in, n_experts) for _ in TASKS)
        self.towers = nn.ModuleList(
            nn.Sequential(nn.Linear(expert_dim, tower), nn.ReLU(), nn.Linear(tower, 1))
            for _ in TASKS
        )

    def forward(self, cat, num):
        x = torch.cat([t(cat[:, j]) for j, t in enumerate(self.tables)] + [num], dim=1)  # (B, 191)
        e = torch.stack([ex(x) for ex in self.experts], dim=1)  # (B, E, D)
        outs = []
        for g, t in zip(self.gates, self.towers):
            w = torch.softmax(g(x), dim=1)  # (B, E)
            outs.append(t(torch.bmm(w.unsqueeze(1), e).squeeze(1)))  # (B, 1)
        return torch.cat(outs, dim=1)  # (B, K) logits


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop training after this many batches (0: all); samples/s is then "
                         "measured on those, and the AUC is of a partly trained model")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    t0 = time.perf_counter()
    df = pd.read_csv(a.csv)
    n = len(df)
    cat = np.empty((n, len(CAT)), dtype=np.int64)
    vocab = []
    for j, c in enumerate(CAT):
        enc = LabelEncoder()
        cat[:, j] = enc.fit_transform(df[c].astype(str)) + 1
        vocab.append(len(enc.classes_))
    num = df[NUM].to_numpy(dtype=np.float32, copy=True)
    y = df[TASKS].to_numpy(dtype=np.float32, copy=True)
    del df
    perm = np.random.default_rng(a.seed).permutation(n)
    n_tr, n_va = int(0.8 * n), int(0.1 * n)
    tr, te = perm[:n_tr], perm[n_tr + n_va:]
    mean, std = num[tr].mean(0), num[tr].std(0)
    num = (num - mean) / np.where(std > 0, std, 1.0)
    cat_t, num_t, y_t = torch.from_numpy(cat), torch.from_numpy(num.astype(np.float32)), torch.from_numpy(y)
    ingest_s = time.perf_counter() - t0

    model = MMoE(vocab, len(NUM))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    t1 = time.perf_counter()
    seen = steps = 0
    for epoch in range(a.epochs):
        order = torch.from_numpy(np.random.default_rng(a.seed + epoch).permutation(tr))
        model.train()
        for s in range(0, len(order), a.batch_size):
            idx = order[s:s + a.batch_size]
            logits = model(cat_t[idx], num_t[idx])
            loss = loss_fn(logits, y_t[idx]) * len(TASKS)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idx)
            steps += 1
            if a.max_steps and steps >= a.max_steps:
                break
    train_s = time.perf_counter() - t1

    model.eval()
    with torch.no_grad():
        te_t = torch.from_numpy(te)
        p = torch.cat([model(cat_t[te_t[s:s + 65536]], num_t[te_t[s:s + 65536]])
                       for s in range(0, len(te_t), 65536)]).numpy()
    auc = {}
    for k, name in enumerate(TASKS):
        yk = y[te, k]
        auc[name] = float(roc_auc_score(yk, p[:, k])) if 0 < yk.sum() < len(yk) else None
    print(json.dumps({
        "tool": "pytorch", "rows": n, "ingest_s": round(ingest_s, 2), "train_s": round(train_s, 2),
        "train_samples_per_s": round(seen / train_s, 1), "steps": steps, "max_steps": a.max_steps, "peak_rss_mb": round(peak_rss_mb(), 1),
        "auc_click": auc["click"], "auc_conversion": auc["conversion"],
        "torch": torch.__version__, "pandas": pd.__version__,
    }))


if __name__ == "__main__":
    sys.exit(main())
