#!/usr/bin/env python3
"""A wide CSV for the data-cache benchmark (docs/benchmarks.md, "Streaming cache").

AliExpress-like shape, smaller: 16 categorical columns (Zipf-ish ids, up to 100k values),
20 numeric columns, click and conversion labels. Deterministic for a seed.

    python3 reference/data_cache/gen_wide.py ROWS OUT.csv
"""
import random
import sys

CAT, NUM = 16, 20


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(17)
    card = [10 ** (1 + i % 5) for i in range(CAT)]  # 10 .. 100000
    head = [f"c{i}" for i in range(CAT)] + [f"n{i}" for i in range(NUM)] + ["click", "conversion"]
    with open(out, "w") as f:
        f.write(",".join(head) + "\n")
        for _ in range(n):
            cats = [str(int(c ** rng.random())) for c in card]  # heavy head, long tail
            nums = [f"{rng.gauss(0, 1):.4f}" for _ in range(NUM)]
            s = int(cats[0]) % 7 + float(nums[0])
            click = 1 if s + rng.gauss(0, 2) > 4 else 0
            conv = 1 if click and rng.random() < 0.2 else 0
            f.write(",".join(cats + nums + [str(click), str(conv)]) + "\n")


if __name__ == "__main__":
    main()
