"""Reference values for src/metrics, written to tests/fixtures/metrics/*.json.

Inputs are seeded numpy draws stored as float32 (the Rust metrics take f32), so the Rust
side reads exactly the numbers scikit-learn saw. Expected values come from scikit-learn
where it has the metric, and from a few lines of plain Python with the same definition
where it does not (noted per value in the JSON under "reference").

Run from the repository root (see reference/metrics/README.md):
    reference/.venv/bin/python reference/metrics/make_fixtures.py
"""

import json
import math
import os

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    ndcg_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

SEED = 20240611
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "metrics")


def f32(xs):
    """float32 values as Python floats (exact doubles, so JSON round-trips them)."""
    return [float(x) for x in np.asarray(xs, dtype=np.float32)]


def labels_for(scores, rng):
    """0/1 labels that agree with the scores more often than not."""
    p = 1.0 / (1.0 + np.exp(-4.0 * (np.asarray(scores, dtype=np.float64) - 0.5)))
    return (rng.random(len(p)) < p).astype(np.float32)


def auc_cases(rng):
    cases = []
    # scores rounded to one decimal: 11 distinct values over 300 rows, many ties
    s = f32(np.round(rng.random(300), 1))
    y = labels_for(s, rng)
    cases.append(("ties_one_decimal", s, y))
    s = f32(rng.random(200))
    cases.append(("continuous", s, labels_for(s, rng)))
    s = f32(np.full(50, 0.3))
    y = np.zeros(50, dtype=np.float32)
    y[:20] = 1
    cases.append(("all_scores_tied", s, y))  # every pair is a tie: 0.5
    s = f32(np.round(rng.normal(size=120), 1))  # negative scores (logits) too
    cases.append(("logits_ties", s, labels_for(np.asarray(s) / 4 + 0.5, rng)))
    return [
        {"name": n, "scores": s, "labels": f32(y), "expected": float(roc_auc_score(y, s)),
         "reference": "sklearn.metrics.roc_auc_score"}
        for n, s, y in cases
    ]


def gauc_case(rng):
    n_users = 12
    counts = rng.integers(5, 40, size=n_users)
    users = np.repeat(np.arange(n_users, dtype=np.int64) * 7 + 100, counts)
    rng.shuffle(users)  # rows of a user are not contiguous
    scores = np.round(rng.random(len(users)), 1).astype(np.float32)
    labels = labels_for(scores, rng)
    # users 2 and 5 see only negatives, user 9 only positives: skipped
    for u, value in ((2, 0.0), (5, 0.0), (9, 1.0)):
        labels[users == u * 7 + 100] = value
    num, den, used, skipped = 0.0, 0, 0, 0
    for u in np.unique(users):
        rows = users == u
        if len(np.unique(labels[rows])) < 2:
            skipped += 1
            continue
        num += rows.sum() * roc_auc_score(labels[rows], scores[rows])
        den += int(rows.sum())
        used += 1
    return {
        "scores": f32(scores), "labels": f32(labels), "users": [int(u) for u in users],
        "expected": num / den, "users_used": used, "users_skipped": skipped,
        "reference": "sum over users of n_u * sklearn.metrics.roc_auc_score / sum of n_u",
    }


def log_loss_cases(rng):
    p = f32(rng.uniform(0.001, 0.999, size=250))
    y = labels_for(p, rng)
    cases = [{"name": "interior", "probs": p, "labels": f32(y),
              "expected": float(log_loss(y, p, labels=[0, 1])),
              "reference": "sklearn.metrics.log_loss"}]
    # probabilities 0 and 1 exercise the clipping (eps = 1e-7 in mtrec; scikit-learn
    # clips at machine epsilon, so this one uses the definition directly)
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.25], dtype=np.float32)
    y = np.array([0, 1, 1, 0, 1, 0], dtype=np.float32)
    q = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    ll = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    cases.append({"name": "clipped", "probs": f32(p), "labels": f32(y), "expected": float(ll),
                  "reference": "numpy: -mean(y ln q + (1-y) ln(1-q)), q = clip(p, 1e-7, 1-1e-7)"})
    return cases


def confusion_cases(rng):
    s = f32(np.round(rng.random(200), 2))
    y = labels_for(s, rng)
    cases = []
    for t in (0.5, 0.3, 0.9, 1.5):  # 1.5: nothing predicted positive, precision is 0/0
        pred = (np.asarray(s) >= np.float32(t)).astype(int)
        cases.append({
            "threshold": t, "scores": s, "labels": f32(y),
            "accuracy": float(accuracy_score(y, pred)),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "reference": "sklearn accuracy/precision/recall/f1_score, zero_division=0, "
                         "prediction = score >= threshold",
        })
    return cases


def regression_case(rng):
    y = f32(rng.normal(3.0, 1.5, size=300))
    p = f32(np.asarray(y) + rng.normal(0.0, 0.7, size=300))
    mse = float(mean_squared_error(y, p))
    return {"preds": p, "targets": y, "mse": mse, "rmse": math.sqrt(mse),
            "mae": float(mean_absolute_error(y, p)),
            "reference": "sklearn mean_squared_error, sqrt of it, mean_absolute_error"}


def ranking_cases(rng):
    """Per user: scores over 60 items without ties, 1-8 relevant items."""
    n_items, ks, users = 60, [1, 5, 10, 20], []
    for _ in range(15):
        relevant = sorted(int(i) for i in rng.choice(n_items, size=rng.integers(1, 9), replace=False))
        rel_vec = np.zeros(n_items)
        rel_vec[relevant] = 1
        # a noisy model that favours relevant items; scores are i/60 in its order: no ties
        scores = np.empty(n_items, dtype=np.float32)
        scores[np.argsort(rng.normal(size=n_items) + 1.5 * rel_vec)] = np.arange(n_items) / n_items
        ranked = [int(i) for i in np.argsort(-scores, kind="stable")]
        first = next(i for i, r in enumerate(ranked) if r in relevant) + 1
        per_k = []
        for k in ks:
            top = set(ranked[:k])
            per_k.append({
                "k": k,
                "hit_rate": float(bool(top & set(relevant))),
                "recall": len(top & set(relevant)) / len(relevant),
                "ndcg": float(ndcg_score([rel_vec], [scores], k=k)),
                "mrr": 1.0 / first if first <= k else 0.0,
            })
        users.append({"scores": f32(scores), "ranked": ranked, "relevant": relevant,
                      "mrr": 1.0 / first, "at_k": per_k})
    means = [{"k": k,
              **{m: float(np.mean([u["at_k"][j][m] for u in users]))
                 for m in ("hit_rate", "recall", "ndcg", "mrr")}}
             for j, k in enumerate(ks)]
    return {"users": users, "means": means,
            "reference": "ndcg: sklearn.metrics.ndcg_score(k=k) (no tied scores); hit rate, "
                         "recall and reciprocal rank: plain Python on ranked = argsort(-scores)"}


def full_ranking_case(rng):
    """Ranks with ties (scores at one decimal): ties count against the target."""
    scores = np.round(rng.random(40), 1).astype(np.float32)
    targets = [int(t) for t in rng.choice(40, size=10, replace=False)]
    ranks = [1 + int(np.sum(np.delete(scores, t) >= scores[t])) for t in targets]
    order = sorted(range(40), key=lambda i: (-scores[i], i))
    return {"scores": f32(scores), "targets": targets, "ranks": ranks,
            "top_k": {"k": 12, "ids": order[:12]},
            "reference": "plain Python: rank = 1 + #{j != t: s_j >= s_t}; "
                         "top_k sorted by (-score, id)"}


def main():
    rng = np.random.default_rng(SEED)
    meta = {"sklearn": sklearn.__version__, "numpy": np.__version__, "seed": SEED,
            "generator": "reference/metrics/make_fixtures.py"}
    files = {
        "classification.json": {"meta": meta, "auc": auc_cases(rng), "gauc": gauc_case(rng),
                                "log_loss": log_loss_cases(rng),
                                "confusion": confusion_cases(rng)},
        "regression.json": {"meta": meta, **regression_case(rng)},
        "ranking.json": {"meta": meta, **ranking_cases(rng), "full": full_ranking_case(rng)},
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in files.items():
        path = os.path.normpath(os.path.join(OUT, name))
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
