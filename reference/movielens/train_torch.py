"""Train MMoE on MovieLens 100K (rating regression + like = rating >= 4) with PyTorch.

    reference/.venv/bin/python reference/movielens/train_torch.py --threads 1 --seed 1
"""

import argparse
import copy
import json
import os
import platform
import resource
import time

import numpy as np
import sklearn
import torch
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error, roc_auc_score

from data import default_data_dir, load_movielens
from models import INITS, MODELS, mtrec_init_

BATCH = 1024
LR = 1e-3
PATIENCE = 3
RATING, LIKE = 0, 1  # output / label columns


def tensors(split):
    return tuple(torch.from_numpy(a) for a in (split.cat, split.bags, split.num, split.labels))


@torch.inference_mode()
def evaluate(model, split, batch=8192):
    model.eval()
    cat, bags, num, y = tensors(split)
    out = torch.cat([model(cat[i:i + batch], bags[i:i + batch], num[i:i + batch])
                     for i in range(0, len(y), batch)]).double().numpy()
    y = y.double().numpy()
    p = 1.0 / (1.0 + np.exp(-out[:, LIKE]))
    return {
        "rating": {"rmse": float(np.sqrt(mean_squared_error(y[:, RATING], out[:, RATING]))),
                   "mae": float(mean_absolute_error(y[:, RATING], out[:, RATING]))},
        "like": {"auc": float(roc_auc_score(y[:, LIKE], p)),
                 "logloss": float(log_loss(y[:, LIKE], p, labels=[0, 1]))},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="mmoe")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--init", choices=INITS, default="torch",
                    help="torch: PyTorch's default initialisation (as reference/census); "
                         "mtrec: mtrec's (embeddings N(0, 0.05^2), He / Glorot uniform, zero biases)")
    ap.add_argument("--json", help="also write the final JSON object to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    splits, vocab_sizes, n_genres = load_movielens(args.data_dir)
    sizes = {name: len(s) for name, s in splits.items()}
    print(f"split sizes: train {sizes['train']} valid {sizes['valid']} test {sizes['test']}; "
          f"vocab user/item/gender/occupation {vocab_sizes}, genres {n_genres}", flush=True)

    model = MODELS[args.model](vocab_sizes, n_genres)
    if args.init == "mtrec":
        mtrec_init_(model)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    mse = torch.nn.MSELoss()  # mean over the batch, raw 1-5 rating
    bce = torch.nn.BCEWithLogitsLoss()  # mean over the batch
    cat, bags, num, y = tensors(splits["train"])
    n = len(y)
    shuffle_gen = torch.Generator().manual_seed(args.seed)

    best = (-1.0, 0, None, None)  # (valid like AUC, epoch, state, valid metrics)
    train_seconds, samples, epochs_run, bad_epochs = 0.0, 0, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=shuffle_gen)
        totals = [0.0, 0.0]
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            out = model(cat[idx], bags[idx], num[idx])
            yb = y[idx]
            losses = (mse(out[:, RATING], yb[:, RATING]), bce(out[:, LIKE], yb[:, LIKE]))
            loss = losses[0] + losses[1]  # equal weights
            opt.zero_grad()
            loss.backward()
            opt.step()
            for k in range(2):
                totals[k] += losses[k].item() * len(idx)
        train_seconds += time.perf_counter() - t0
        samples += n
        epochs_run = epoch

        valid = evaluate(model, splits["valid"])
        score = valid["like"]["auc"]
        print(f"epoch {epoch:2d}  train mse {totals[0] / n:.5f} bce {totals[1] / n:.5f}  "
              f"valid rmse {valid['rating']['rmse']:.5f} mae {valid['rating']['mae']:.5f}  "
              f"like auc {score:.5f} logloss {valid['like']['logloss']:.5f}", flush=True)
        if score > best[0]:
            best = (score, epoch, copy.deepcopy(model.state_dict()), valid)
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= PATIENCE:
                print(f"early stop: no improvement of valid like AUC for {PATIENCE} epochs",
                      flush=True)
                break

    model.load_state_dict(best[2])
    test = evaluate(model, splits["test"])
    result = {
        "model": args.model,
        "threads": args.threads,
        "seed": args.seed,
        "init": args.init,
        "best_epoch": best[1],
        "epochs_run": epochs_run,
        "train_samples_per_s": samples / train_seconds,
        "train_seconds": train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tasks": {t: {"valid": best[3][t], "test": test[t]} for t in ("rating", "like")},
        "split_sizes": sizes,
        "vocab_sizes": {"user_id": vocab_sizes[0], "item_id": vocab_sizes[1],
                        "gender": vocab_sizes[2], "occupation": vocab_sizes[3],
                        "genres": n_genres},
        # 1-minute load average at start and end: timings are only comparable on an idle machine.
        "loadavg_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "parameters": sum(p.numel() for p in model.parameters()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
