"""PyTorch twin of `mtrec recommend` for the speed comparison in docs/benchmarks.md.

Two workloads, each scored for every user against the whole catalogue, history masked,
top-K by torch.topk, on `--threads` CPU threads (torch.set_num_threads):

- `mmoe`: the MMoE of configs/movielens_mmoe.toml (57 inputs, 8 experts Linear(57->64)+ReLU,
  a softmax gate per task, towers 64->32->1), its weights read from mtrec's
  model.safetensors by name with the safetensors package. Every (user, item) pair is a
  row: the user's and the item's embedded features are concatenated (batched cross
  product, CHUNK users at a time) and run through the network; the two task outputs are
  fused as mtrec's product fusion (P(like)^1 * scaled rating^0.5). `--two-tower` splits the
  first layers (experts' first Linear and the gates) into a per-user and a per-item part,
  P_u + Q_i, as `mtrec recommend --two-tower` does.
  Inputs: user and item ids through the run's spec.json vocabularies, the training
  history mask from u.data (all ratings of the user: the same mask work); gender,
  occupation, genres and age are valid random ids / values: the throughput does not
  depend on them, and the scores are not compared with mtrec's.
- `sasrec`: SASRec as src/models/sasrec.rs (pre-LN blocks, causal single-head attention,
  FFN with ReLU, output LayerNorm), weights from mtrec's model.safetensors by name; each
  user's last max_len items (users sorted by that length, as mtrec does, so a batch
  pads little) -> final hidden state F, then scores F @ M[1:]^T (one matmul
  per batch of users), history masked, topk. Item ids are numbered by first appearance
  (mtrec shuffles them with a seeded Rust RNG that is not reproduced here), so the lists
  differ from mtrec's; the work per user is the same.

Prints one JSON line: model, mode, users, items, pairs, seconds (scoring and top-K only,
after loading), pairs_per_s.
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
from safetensors.numpy import load_file

CHUNK = 64  # users per batch of the MMoE cross product (64 x 1655 rows)


def vocab(spec, name):
    for section in ("categorical", "multi_hot"):
        for f in spec.get(section, []):
            if f["name"] == name:
                return {v: i + 1 for i, v in enumerate(f["encoder"]["values"])}
    raise KeyError(name)


def bench_mmoe(args):
    w = {k: torch.from_numpy(v.copy()) for k, v in load_file(os.path.join(args.run, "model.safetensors")).items()}
    with open(os.path.join(args.run, "spec.json")) as f:
        spec = json.load(f)
    users_v, items_v = vocab(spec, "user_id"), vocab(spec, "item_id")
    nu, ni = len(users_v), len(items_v)
    g = torch.Generator().manual_seed(0)
    emb = lambda name: w[f"input.emb.{name}"]
    # per-side feature rows, encoded once (mtrec encodes each side once too)
    uid = torch.arange(1, nu + 1)
    gender = torch.randint(1, emb("gender").shape[0], (nu,), generator=g)
    occ = torch.randint(1, emb("occupation").shape[0], (nu,), generator=g)
    age = torch.randn(nu, 1, generator=g)
    iid = torch.arange(1, ni + 1)
    genres = torch.randint(1, emb("genres").shape[0], (ni, 2), generator=g)
    xu_id = emb("user_id")[uid]
    xu_rest = torch.cat([emb("gender")[gender], emb("occupation")[occ]], 1)
    xi_id = emb("item_id")[iid]
    xi_gen = emb("genres")[genres].mean(1)
    # history mask from u.data through the vocabularies
    hist = torch.zeros(nu, ni, dtype=torch.bool)
    with open(os.path.join(args.data_dir, "ml-100k", "u.data")) as f:
        for line in f:
            u, i = line.split("\t")[:2]
            if u in users_v and i in items_v:
                hist[users_v[u] - 1, items_v[i] - 1] = True
    # first layer: experts (57 -> 512) and both gates (57 -> 8 each), one matrix
    w1 = torch.cat([w["mmoe.experts.first.w"], w["mmoe.gate.0.w"], w["mmoe.gate.1.w"]], 1)
    b1 = torch.cat([w["mmoe.experts.first.b"], w["mmoe.gate.0.b"], w["mmoe.gate.1.b"]], 1)
    e_out = w["mmoe.experts.first.w"].shape[1]  # 512 = 8 experts x 64
    n_exp = w["mmoe.gate.0.w"].shape[1]
    d_exp = e_out // n_exp
    # input column order: user_id 16, item_id 16, gender 8, occupation 8, genres 8, age 1
    rows_u = list(range(0, 16)) + list(range(32, 48)) + [56]
    rows_i = list(range(16, 32)) + list(range(48, 56))
    xu = torch.cat([xu_id, xu_rest, age], 1)  # (U, 33) in rows_u order
    xi = torch.cat([xi_id, xi_gen], 1)  # (I, 24) in rows_i order
    w1u, w1i = w1[rows_u], w1[rows_i]

    def rest(pre):  # pre: (N, 512 + 16) first-layer pre-activations
        experts = torch.relu(pre[:, :e_out]).view(-1, n_exp, d_exp)
        outs = []
        for k in range(2):
            gate = torch.softmax(pre[:, e_out + k * n_exp : e_out + (k + 1) * n_exp], 1)
            h = (experts * gate.unsqueeze(2)).sum(1)
            t = torch.relu(h @ w[f"mmoe.tower.{k}.0.w"] + w[f"mmoe.tower.{k}.0.b"])
            outs.append(t @ w[f"mmoe.tower.{k}.1.w"] + w[f"mmoe.tower.{k}.1.b"])
        rating, like = outs[0].squeeze(1), torch.sigmoid(outs[1].squeeze(1))
        s_rating = ((rating - 1.0) / 4.0).clamp(0.0, 1.0)
        return torch.exp(torch.log(like.clamp_min(1e-12)) + 0.5 * torch.log(s_rating.clamp_min(1e-12)))

    q_items = xi @ w1i  # (I, 528), two-tower item part, once
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, nu, CHUNK):
            b = min(CHUNK, nu - s)
            if args.two_tower:
                p = xu[s : s + b] @ w1u + b1  # (B, 528)
                pre = (p.unsqueeze(1) + q_items.unsqueeze(0)).view(b * ni, -1)
            else:
                x = torch.cat(
                    [
                        xu_id[s : s + b].unsqueeze(1).expand(b, ni, -1),
                        xi_id.unsqueeze(0).expand(b, ni, -1),
                        xu_rest[s : s + b].unsqueeze(1).expand(b, ni, -1),
                        xi_gen.unsqueeze(0).expand(b, ni, -1),
                        age[s : s + b].unsqueeze(1).expand(b, ni, -1),
                    ],
                    2,
                ).view(b * ni, -1)  # (B*I, 57)
                pre = x @ w1 + b1
            score = rest(pre).view(b, ni).masked_fill(hist[s : s + b], float("-inf"))
            torch.topk(score, args.k, dim=1)
    secs = time.perf_counter() - t0
    return nu, ni, secs


def bench_sasrec(args):
    w = {k: torch.from_numpy(v.copy()) for k, v in load_file(os.path.join(args.run, "model.safetensors")).items()}
    with open(os.path.join(args.data_dir, "amazon-beauty", "user_sequence.txt"), encoding="latin-1") as f:
        lines = [l.split() for l in f if l.strip()]
    ids = {}
    seqs = []
    for parts in lines:
        seqs.append([ids.setdefault(it, len(ids) + 1) for it in parts[1:]])
    items = w["item.emb"]  # (V+1, D)
    v, d = items.shape[0] - 1, items.shape[1]
    max_len = w["pos.emb"].shape[0]
    blocks = sorted({k.split(".")[0] for k in w if k.startswith("block")})
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (d,), w[f"{n}.gamma"].view(-1), w[f"{n}.beta"].view(-1), 1e-8)
    lin = lambda x, n: x @ w[f"{n}.w"] + w[f"{n}.b"]
    cat = items[1:]  # (V, D)
    # users in order of their window length, as mtrec recommend batches them: little padding
    seqs.sort(key=lambda q: min(len(q), max_len))
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(seqs), args.batch):
            chunk = [q[-max_len:] for q in seqs[s : s + args.batch]]
            b, t = len(chunk), max(len(q) for q in chunk)
            ids_t = torch.zeros(b, t, dtype=torch.long)
            for r, q in enumerate(chunk):
                ids_t[r, : len(q)] = torch.tensor(q)
            lens = torch.tensor([len(q) for q in chunk])
            x = items[ids_t] * math.sqrt(d) + w["pos.emb"][:t].unsqueeze(0)  # (B, T, D)
            for blk in blocks:
                a = ln(x, f"{blk}.ln_attn")
                q, k_, v_ = lin(a, f"{blk}.wq"), lin(a, f"{blk}.wk"), lin(a, f"{blk}.wv")
                x = x + torch.nn.functional.scaled_dot_product_attention(q, k_, v_, is_causal=True)
                f_ = ln(x, f"{blk}.ln_ffn")
                x = x + lin(torch.relu(lin(f_, f"{blk}.ffn1")), f"{blk}.ffn2")
            h = ln(x[torch.arange(b), lens - 1], "ln_out")  # (B, D)
            score = h @ cat.T  # (B, V)
            # the whole sequence is history (as mtrec recommend leaves it out)
            rows = torch.cat([torch.full((len(seqs[s + r]),), r) for r in range(b)])
            cols = torch.cat([torch.tensor(seqs[s + r]) - 1 for r in range(b)])
            score[rows, cols] = float("-inf")
            torch.topk(score, args.k, dim=1)
    secs = time.perf_counter() - t0
    return len(seqs), v, secs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["mmoe", "sasrec"], required=True)
    p.add_argument("--run", required=True, help="mtrec run folder (model.safetensors)")
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--batch", type=int, default=256, help="sasrec: users per batch")
    p.add_argument("--two-tower", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    users, items, secs = (bench_mmoe if args.model == "mmoe" else bench_sasrec)(args)
    pairs = users * items
    print(
        json.dumps(
            {
                "impl": "pytorch " + torch.__version__,
                "model": args.model,
                "mode": "two-tower" if args.two_tower else "plain",
                "threads": args.threads,
                "users": users,
                "items": items,
                "pairs": pairs,
                "seconds": round(secs, 3),
                "pairs_per_s": round(pairs / secs),
            }
        )
    )


if __name__ == "__main__":
    main()
