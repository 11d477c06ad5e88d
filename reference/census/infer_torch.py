"""MMoE inference latency on a batch of census test rows (random init: only speed matters).

    reference/.venv/bin/python reference/census/infer_torch.py --threads 1
"""

import argparse
import json
import os
import time

import numpy as np
import torch

from data import default_data_dir, load_census
from models import MMoE


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--json", help="also write the JSON object to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    splits, vocab_sizes = load_census(args.data_dir)
    test = splits["test"]
    cat = torch.from_numpy(test.cat[:args.batch]).contiguous()
    num = torch.from_numpy(test.num[:args.batch]).contiguous()
    model = MMoE(vocab_sizes).eval()

    load_start = os.getloadavg()[0]
    times, cpu_times = [], []
    with torch.inference_mode():
        for i in range(args.warmup + args.reps):
            t0, c0 = time.perf_counter(), time.thread_time()
            probs = torch.sigmoid(model(cat, num))
            dt, dc = time.perf_counter() - t0, time.thread_time() - c0
            if i >= args.warmup:
                times.append(dt)
                cpu_times.append(dc)
    assert probs.shape == (len(cat), 2)
    times = np.array(times) * 1000.0
    # CPU time of this thread (with 1 thread PyTorch runs the ops on the calling thread):
    # on a machine shared with other jobs the wall clock also counts time given to them.
    cpu_times = np.array(cpu_times) * 1000.0
    result = {
        "model": "mmoe",
        "threads": args.threads,
        "batch": len(cat),
        "reps": args.reps,
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "mean_ms": float(times.mean()),
        "rows_per_s": float(len(cat) / (np.median(times) / 1000.0)),
        "cpu_p50_ms": float(np.percentile(cpu_times, 50)),
        "cpu_p99_ms": float(np.percentile(cpu_times, 99)),
        "loadavg_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "torch": torch.__version__,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
