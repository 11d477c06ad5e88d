"""Census-Income (KDD) loading, splitting and encoding for the mtrec reference.

Everything here mirrors the Rust side exactly: the same columns, the same
splitmix64-based split, vocabularies and standardisation fitted on the training
split only.
"""

import gzip
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = Path("census-income") / "census-income.test.gz"

N_COLUMNS = 42
EXPECTED_ROWS = 99_762
EXPECTED_POSITIVES = {"income": 6_186, "never_married": 43_143}
TASKS = ("income", "never_married")

INCOME_COL, MARITAL_COL, INSTANCE_WEIGHT_COL = 41, 7, 24

# age, wage_per_hour, capital_gains, capital_losses, stock_dividends, num_emp,
# own_or_self, vet_benefits, weeks_worked, year
NUMERIC_COLS = [0, 5, 16, 17, 18, 30, 36, 38, 39, 40]
# Every other column except instance_weight (24) and the label columns (7, 41), in column order.
CATEGORICAL_COLS = [1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 22, 23,
                    25, 26, 27, 28, 29, 31, 32, 33, 34, 35, 37]
assert len(NUMERIC_COLS) == 10 and len(CATEGORICAL_COLS) == 29
assert sorted(NUMERIC_COLS + CATEGORICAL_COLS + [INCOME_COL, MARITAL_COL, INSTANCE_WEIGHT_COL]) \
    == list(range(N_COLUMNS))

EMBED_DIM = 8
INPUT_DIM = len(CATEGORICAL_COLS) * EMBED_DIM + len(NUMERIC_COLS)  # 242

SPLIT_SEED = 2024
MASK64 = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def split_assignment(n_rows, seed=SPLIT_SEED):
    """0 = train, 1 = valid, 2 = test for each row in file order."""
    out = np.empty(n_rows, dtype=np.int8)
    for i in range(n_rows):
        u = float(splitmix64((seed + i) & MASK64)) / 2.0 ** 64
        out[i] = 0 if u < 0.6 else (1 if u < 0.8 else 2)
    return out


def default_data_dir():
    return os.environ.get("MTREC_DATA") or str(REPO_ROOT.parent / "shared" / "data")


def read_rows(data_dir):
    path = Path(data_dir) / DATA_FILE
    if not path.exists():
        raise SystemExit(f"census data not found at {path} (use --data-dir or $MTREC_DATA)")
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            # Interned: the columns repeat few distinct values, so this keeps the peak RSS low.
            fields = [sys.intern(v.strip()) for v in line.split(", ")]
            if len(fields) != N_COLUMNS:
                raise SystemExit(f"{path}:{lineno}: expected {N_COLUMNS} columns, got {len(fields)}")
            rows.append(fields)
    if len(rows) != EXPECTED_ROWS:
        raise SystemExit(f"expected {EXPECTED_ROWS} rows, got {len(rows)}")
    return rows


class Split:
    """One split: categorical ids (N, 29) int64, numerics (N, 10) float32, labels (N, 2) float32."""

    def __init__(self, cat, num, labels):
        self.cat, self.num, self.labels = cat, num, labels

    def __len__(self):
        return len(self.labels)


def load_census(data_dir=None, seed=SPLIT_SEED):
    rows = read_rows(data_dir or default_data_dir())

    labels = np.array([[r[INCOME_COL] == "50000+.", r[MARITAL_COL] == "Never married"]
                       for r in rows], dtype=np.float32)
    for k, task in enumerate(TASKS):
        got = int(labels[:, k].sum())
        if got != EXPECTED_POSITIVES[task]:
            raise SystemExit(f"task {task}: expected {EXPECTED_POSITIVES[task]} positives, got {got}")

    split = split_assignment(len(rows), seed)
    train_idx = np.flatnonzero(split == 0)

    # Vocabularies on the training split: ids 1..V in order of first appearance; 0 = unseen.
    vocabs = []
    for c in CATEGORICAL_COLS:
        vocab = {}
        for i in train_idx:
            vocab.setdefault(rows[i][c], len(vocab) + 1)
        vocabs.append(vocab)
    cat = np.array([[vocabs[j].get(r[c], 0) for j, c in enumerate(CATEGORICAL_COLS)] for r in rows],
                   dtype=np.int64)

    # Numerics standardised with the training split's mean and population std (0 -> 1).
    num = np.array([[float(r[c]) for c in NUMERIC_COLS] for r in rows], dtype=np.float64)
    mean = num[train_idx].mean(axis=0)
    std = num[train_idx].std(axis=0)
    std[std == 0] = 1.0
    num = ((num - mean) / std).astype(np.float32)

    splits = {name: Split(cat[split == s], num[split == s], labels[split == s])
              for s, name in enumerate(("train", "valid", "test"))}
    vocab_sizes = [len(v) for v in vocabs]  # tables have V + 1 rows (row 0 = OOV)
    return splits, vocab_sizes
