"""Train MMoE / Shared-Bottom / PLE on census-income (income + never married) with PyTorch.

    reference/.venv/bin/python reference/census/train_torch.py --model mmoe --threads 2 --seed 1
    python3 reference/census/train_torch.py --model mmoe --device cuda   # on a GPU machine
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
from sklearn.metrics import log_loss, roc_auc_score

from data import TASKS, default_data_dir, load_census
from models import MODELS

BATCH = 1024
LR = 1e-3
PATIENCE = 3


def tensors(split, device="cpu"):
    return tuple(torch.from_numpy(a).to(device) for a in (split.cat, split.num, split.labels))


@torch.inference_mode()
def evaluate(model, split, batch=8192, device="cpu"):
    model.eval()
    cat, num, y = tensors(split, device)
    logits = torch.cat([model(cat[i:i + batch], num[i:i + batch]) for i in range(0, len(y), batch)])
    p = torch.sigmoid(logits.double()).cpu().numpy()
    y = y.cpu().numpy()
    return {task: {"auc": float(roc_auc_score(y[:, k], p[:, k])),
                   "logloss": float(log_loss(y[:, k], p[:, k], labels=[0, 1]))}
            for k, task in enumerate(TASKS)}


def mean_auc(metrics):
    return float(np.mean([metrics[t]["auc"] for t in TASKS]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--json", help="also write the final JSON object to this file")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the whole step on the GPU)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    splits, vocab_sizes = load_census(args.data_dir)
    sizes = {name: len(s) for name, s in splits.items()}
    print(f"split sizes: train {sizes['train']} valid {sizes['valid']} test {sizes['test']}", flush=True)

    dev = torch.device(args.device)
    model = MODELS[args.model](vocab_sizes).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.BCEWithLogitsLoss()  # mean over the batch, per task
    cat, num, y = tensors(splits["train"], dev)  # the whole split on the device once (mtrec copies each batch in)
    n = len(y)
    shuffle_gen = torch.Generator().manual_seed(args.seed)

    best = (-1.0, 0, None, None)  # (mean valid AUC, epoch, state, valid metrics)
    train_seconds, samples, epochs_run, bad_epochs = 0.0, 0, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=shuffle_gen).to(dev)
        total = 0.0
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            logits = model(cat[idx], num[idx])
            yb = y[idx]
            loss = sum(loss_fn(logits[:, k], yb[:, k]) for k in range(len(TASKS)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)  # one device sync per step, as mtrec reads its losses
        train_seconds += time.perf_counter() - t0
        samples += n
        epochs_run = epoch

        valid = evaluate(model, splits["valid"], device=dev)
        score = mean_auc(valid)
        print(f"epoch {epoch:2d}  train loss {total / n:.5f}  "
              + "  ".join(f"valid {t} auc {valid[t]['auc']:.5f}" for t in TASKS)
              + f"  mean {score:.5f}", flush=True)
        if score > best[0]:
            best = (score, epoch, copy.deepcopy(model.state_dict()), valid)
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= PATIENCE:
                print(f"early stop: no improvement for {PATIENCE} epochs", flush=True)
                break

    model.load_state_dict(best[2])
    test = evaluate(model, splits["test"], device=dev)
    result = {
        "model": args.model,
        "threads": args.threads,
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "seed": args.seed,
        "best_epoch": best[1],
        "epochs_run": epochs_run,
        "train_samples_per_s": samples / train_seconds,
        "train_seconds": train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tasks": {t: {"valid": best[3][t], "test": test[t]} for t in TASKS},
        "split_sizes": sizes,
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
