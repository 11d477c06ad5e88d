"""MovieLens 100K loading, splitting and encoding for the mtrec reference.

Everything here mirrors what mtrec does with configs/movielens_mmoe.toml: one row per
rating in u.data order joined with u.user and u.item, the same splitmix64-based split,
vocabularies and standardisation fitted on the training split only.
"""

import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path("ml-100k")

EXPECTED_ROWS = 100_000
EXPECTED_USERS = 943
EXPECTED_ITEMS = 1_682
EXPECTED_GENRES = 19
EXPECTED_LIKES = 55_375  # ratings >= 4
TASKS = ("rating", "like")
LIKE_THRESHOLD = 4.0

# Categorical features and their embedding widths, in config order; then the genres bag
# (mean of its embeddings), then age (standardised).
CATEGORICAL = (("user_id", 16), ("item_id", 16), ("gender", 8), ("occupation", 8))
GENRE_DIM = 8
INPUT_DIM = sum(d for _, d in CATEGORICAL) + GENRE_DIM + 1  # 57

SPLIT_SEED = 2024
TRAIN_FRACTION, VALID_FRACTION = 0.8, 0.1
MASK64 = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def split_assignment(n_rows, seed=SPLIT_SEED):
    """0 = train, 1 = valid, 2 = test for each row in u.data order."""
    out = np.empty(n_rows, dtype=np.int8)
    upper = TRAIN_FRACTION + VALID_FRACTION  # as f64, like src/data/features/split.rs
    for i in range(n_rows):
        u = float(splitmix64((seed + i) & MASK64)) / 2.0 ** 64
        out[i] = 0 if u < TRAIN_FRACTION else (1 if u < upper else 2)
    return out


def default_data_dir():
    return os.environ.get("MTREC_DATA") or str(REPO_ROOT.parent / "shared" / "data")


def _lines(path):
    """Non-empty lines of a Latin-1 file (the data set's encoding), line ends stripped."""
    with open(path, encoding="latin-1") as f:
        return [line.rstrip("\r\n") for line in f if line.strip()]


def read_tables(data_dir):
    """(ratings, users, items, genre names): ratings as [user, item, rating] text in u.data
    order; users id -> (age, gender, occupation); items id -> tuple of genre names (in
    u.genre order)."""
    folder = Path(data_dir) / DATA_DIR
    if not folder.is_dir():
        raise SystemExit(f"MovieLens 100K not found at {folder} (use --data-dir or $MTREC_DATA)")

    genres = []
    for line in _lines(folder / "u.genre"):
        name, index = line.split("|")
        if int(index) != len(genres):
            raise SystemExit(f"u.genre: expected index {len(genres)}, got {index}")
        genres.append(name)

    users = {}
    for line in _lines(folder / "u.user"):
        uid, age, gender, occupation, _zip = line.split("|")
        users[int(uid)] = (float(age), gender, occupation)

    items = {}
    for line in _lines(folder / "u.item"):
        f = line.split("|")
        if len(f) != 5 + len(genres):
            raise SystemExit(f"u.item: expected {5 + len(genres)} fields, got {len(f)}")
        flags = f[5:]
        if any(x not in ("0", "1") for x in flags):
            raise SystemExit(f"u.item: genre flag other than 0/1 in {line!r}")
        items[int(f[0])] = tuple(g for g, x in zip(genres, flags) if x == "1")

    ratings = []
    for line in _lines(folder / "u.data"):
        user, item, rating, _ts = line.split("\t")
        ratings.append((int(user), int(item), float(rating)))

    got = (len(ratings), len(users), len(items), len(genres))
    want = (EXPECTED_ROWS, EXPECTED_USERS, EXPECTED_ITEMS, EXPECTED_GENRES)
    if got != want:
        raise SystemExit(f"expected (ratings, users, items, genres) = {want}, got {got}")
    return ratings, users, items, genres


class Split:
    """One split: categorical ids (N, 4) int64, genre ids (N, L) int64 padded with
    `pad`, age (N, 1) float32, labels (N, 2) float32 (rating, like)."""

    def __init__(self, cat, bags, num, labels):
        self.cat, self.bags, self.num, self.labels = cat, bags, num, labels

    def __len__(self):
        return len(self.labels)


def load_movielens(data_dir=None, seed=SPLIT_SEED):
    """Returns (splits, vocab sizes of the 4 categoricals, genre vocabulary size)."""
    ratings, users, items, _ = read_tables(data_dir or default_data_dir())
    for u, i, _r in ratings:
        if u not in users or i not in items:
            raise SystemExit(f"rating of user {u} / item {i} has no u.user / u.item entry")

    # Joined rows: user_id, item_id, gender, occupation as text (ids without leading zeros,
    # as the mtrec loader writes them), age, genre tuple, rating.
    cat_text = [(str(u), str(i), users[u][1], users[u][2]) for u, i, _ in ratings]
    age = np.array([users[u][0] for u, _, _ in ratings], dtype=np.float64)
    genre_sets = [items[i] for _, i, _ in ratings]
    rating = np.array([r for _, _, r in ratings], dtype=np.float32)
    like = (rating >= LIKE_THRESHOLD).astype(np.float32)
    if int(like.sum()) != EXPECTED_LIKES:
        raise SystemExit(f"expected {EXPECTED_LIKES} ratings >= 4, got {int(like.sum())}")
    labels = np.stack([rating, like], axis=1)

    split = split_assignment(len(ratings), seed)
    train_idx = np.flatnonzero(split == 0)

    # Vocabularies on the training split: ids 1..V in order of first appearance; 0 = unseen.
    vocabs = []
    for j in range(len(CATEGORICAL)):
        vocab = {}
        for r in train_idx:
            vocab.setdefault(cat_text[r][j], len(vocab) + 1)
        vocabs.append(vocab)
    cat = np.array([[vocabs[j].get(t[j], 0) for j in range(len(CATEGORICAL))] for t in cat_text],
                   dtype=np.int64)

    # Genre vocabulary: names in order of first appearance over the training rows (within a
    # row in u.genre order), ids 1..G; 0 = unseen. A movie with no genre flag is a missing
    # cell, which mtrec encodes as the bag [0] (the learned OOV row); ML-100K has none.
    gvocab = {}
    for r in train_idx:
        for g in genre_sets[r]:
            gvocab.setdefault(g, len(gvocab) + 1)
    pad = len(gvocab) + 1  # padding row, excluded from the mean (EmbeddingBag padding_idx)
    width = max(len(s) for s in genre_sets)
    bags = np.full((len(ratings), width), pad, dtype=np.int64)
    for r, s in enumerate(genre_sets):
        ids = [gvocab.get(g, 0) for g in s] or [0]
        bags[r, :len(ids)] = ids

    # Age standardised with the training split's mean and population std (0 -> 1).
    mean, std = age[train_idx].mean(), age[train_idx].std()
    std = std if std > 0 else 1.0
    num = ((age - mean) / std).astype(np.float32)[:, None]

    splits = {name: Split(cat[split == s], bags[split == s], num[split == s], labels[split == s])
              for s, name in enumerate(("train", "valid", "test"))}
    vocab_sizes = [len(v) for v in vocabs]  # tables have V + 1 rows (row 0 = OOV)
    return splits, vocab_sizes, len(gvocab)
