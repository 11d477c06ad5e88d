"""SASRec in plain PyTorch, the twin of `mtrec seq` (src/models/sasrec.rs, src/train/seq/).

Same model, initialisation, loss, batches, optimiser and test protocol as mtrec, so that
epoch time, peak RSS and HR@10 / NDCG@10 can be compared side by side
(reference/bench_sasrec.sh, docs/benchmarks.md "beside PyTorch").

    item matrix  M = E_id                                  (V+1, D)   row 0: padding
    input        x_t = M[s_t]·√D + P[t]                    (B, T, D)  learned positions, dropout
    block (×L)   x = x + Dropout(SA(LN(x)))                causal, H heads, no output projection
                 x = x + Dropout(W₂·Dropout(ReLU(W₁·LN(x) + b₁)) + b₂)
    output       F = LN(x) at every real position          (N, D)
    loss         CE(softmax(F·M[1:]ᵀ), next item), mean over the N targets (full softmax)

Initialisation (src/nn/init.rs): E_id, P ~ N(0, 2/(fan_in+fan_out)) (Xavier normal of the
table's shape); Q, K, V, W₂ Xavier uniform; W₁ He uniform U(±√(6/D)); biases 0; layer norm
γ = 1, β = 0, ε = 1e-8. Adam (β 0.9, 0.999, ε 1e-8, no weight decay).

Data: the mtrec run's `ids.json` gives the item ids (mtrec shuffles the raw ids with
data.seed; reading the map makes both sides see the same ids) and the user order; the
sequences are read again from `user_sequence.txt` and split leave-last-out as
src/data/sequences/mod.rs does. Training batches are built as `SeqBatch::train`: each
training sequence s_1..s_m (m ≥ 2) gives input s_{m-l}..s_{m-1} and targets
s_{m-l+1}..s_m with l = min(m-1, max_len), right-padded to the batch's longest; the
examples are shuffled every epoch and cut into chunks of batch_size. With `--orders`
(a file of one JSON list per epoch, the example indices in mtrec's order, written by
`mtrec seq` with MTREC_SEQ_ORDER_OUT) the batches are exactly mtrec's; without it the
shuffle is numpy's with the same seed rule, so the batches are drawn from the same rule
but differ.

Test protocol (src/train/seq/eval.rs): every test user, history = all items but the last
(its last max_len), target = the last item; scores over all V items, nothing excluded;
rank = #{j : s_j ≥ s_target} (ties against the target); HR@10, NDCG@10 = 1/log₂(rank+1).

One JSON line per epoch on stdout.
"""

import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load(data_dir, ids_path):
    """Sequences in mtrec's item ids and user order; checks the ids.json maps."""
    ids = json.load(open(ids_path))
    item_id = {k: i for i, k in enumerate(ids["items"]) if i > 0}
    seqs = {}
    with open(os.path.join(data_dir, "amazon-beauty", "user_sequence.txt"), encoding="latin-1") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                seqs[parts[0]] = [item_id[x] for x in parts[1:]]
    users = ids["users"]
    if not set(users) <= set(seqs):  # a subset with data.user_fraction < 1
        sys.exit("ids.json names users not in user_sequence.txt; pass the ids.json of a Beauty run")
    return [seqs[u] for u in users], len(ids["items"]) - 1


def leave_last_out(seqs):
    train, valid, test = [], [], []
    for s in seqs:
        n = len(s)
        cut = n
        if n >= 3:
            valid.append((s[: n - 2], s[n - 2]))
            test.append((s[: n - 1], s[n - 1]))
            cut = n - 2
        if cut >= 2:
            train.append(s[:cut])
    return train, valid, test


def train_batch(examples, max_len):
    """SeqBatch::train: (ids (B,T), rows (N) into B·T, targets (N))."""
    inputs, outs = [], []
    for s in examples:
        m = len(s)
        l = min(m - 1, max_len)
        inputs.append(s[m - 1 - l : m - 1])
        outs.append(s[m - l : m])
    b, t = len(inputs), max(len(x) for x in inputs)
    ids = np.zeros((b, t), dtype=np.int64)
    rows, targets = [], []
    for i, (x, y) in enumerate(zip(inputs, outs)):
        ids[i, : len(x)] = x
        rows.extend(range(i * t, i * t + len(x)))
        targets.extend(y)
    return torch.from_numpy(ids), torch.tensor(rows), torch.tensor(targets) - 1


class Block(nn.Module):
    def __init__(self, d, heads, p):
        super().__init__()
        self.heads, self.p = heads, p
        self.ln_attn = nn.LayerNorm(d, eps=1e-8)
        self.wq, self.wk, self.wv = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.ln_ffn = nn.LayerNorm(d, eps=1e-8)
        self.ffn1, self.ffn2 = nn.Linear(d, d), nn.Linear(d, d)
        for lin in (self.wq, self.wk, self.wv, self.ffn2):
            nn.init.xavier_uniform_(lin.weight)
        nn.init.kaiming_uniform_(self.ffn1.weight, nonlinearity="relu")  # U(±√(6/D))
        for lin in (self.wq, self.wk, self.wv, self.ffn1, self.ffn2):
            nn.init.zeros_(lin.bias)

    def forward(self, x):  # x (B, T, D)
        b, t, d = x.shape
        h = self.heads
        a = self.ln_attn(x)  # (B, T, D)
        q = self.wq(a).view(b, t, h, d // h).transpose(1, 2)  # (B, H, T, Dh)
        k = self.wk(a).view(b, t, h, d // h).transpose(1, 2)  # (B, H, T, Dh)
        v = self.wv(a).view(b, t, h, d // h).transpose(1, 2)  # (B, H, T, Dh)
        # right padding + causal: a real position i < len reads only j ≤ i < len, so the
        # causal mask alone equals mtrec's causal + key-length mask on every real row
        s = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, Dh)
        s = s.transpose(1, 2).reshape(b, t, d)  # (B, T, D)
        x = x + F.dropout(s, self.p, self.training)
        f = F.relu(self.ffn1(self.ln_ffn(x)))  # (B, T, D)
        f = self.ffn2(F.dropout(f, self.p, self.training))  # (B, T, D)
        return x + F.dropout(f, self.p, self.training)


class SASRec(nn.Module):
    def __init__(self, num_items, max_len, d, blocks, heads, p):
        super().__init__()
        v = num_items + 1
        self.d, self.p = d, p
        self.item_emb = nn.Parameter(torch.randn(v, d) * math.sqrt(2.0 / (v + d)))  # (V+1, D)
        self.pos_emb = nn.Parameter(torch.randn(max_len, d) * math.sqrt(2.0 / (max_len + d)))
        self.blocks = nn.ModuleList([Block(d, heads, p) for _ in range(blocks)])
        self.ln_out = nn.LayerNorm(d, eps=1e-8)

    def hidden(self, ids, rows):
        """ids (B, T) right-padded; rows (N) into B·T → F (N, D)."""
        b, t = ids.shape
        x = self.item_emb[ids] * math.sqrt(self.d) + self.pos_emb[:t]  # (B, T, D)
        x = F.dropout(x, self.p, self.training)
        for blk in self.blocks:
            x = blk(x)
        x = x.reshape(b * t, self.d)[rows]  # (N, D)
        return self.ln_out(x)

    def logits(self, h):
        return h @ self.item_emb[1:].t()  # (N, V): column j is item j + 1


@torch.no_grad()
def evaluate(model, holdouts, max_len, batch=256):
    """HR@10, NDCG@10 over all holdouts (mtrec's protocol), and the scoring seconds."""
    model.eval()
    t0 = time.perf_counter()
    hits, ndcg = 0.0, 0.0
    for i in range(0, len(holdouts), batch):
        chunk = holdouts[i : i + batch]
        hist = [h[-max_len:] for h, _ in chunk]
        t = max(len(x) for x in hist)
        ids = np.zeros((len(chunk), t), dtype=np.int64)
        for j, x in enumerate(hist):
            ids[j, : len(x)] = x
        rows = torch.tensor([j * t + len(x) - 1 for j, x in enumerate(hist)])
        target = torch.tensor([y - 1 for _, y in chunk])
        s = model.logits(model.hidden(torch.from_numpy(ids), rows))  # (B, V)
        st = s.gather(1, target[:, None])  # (B, 1)
        rank = (s >= st).sum(1).double()  # 1 + #{j ≠ t : s_j ≥ s_t}
        top = rank <= 10
        hits += top.sum().item()
        ndcg += (top.double() / torch.log2(rank + 1)).sum().item()
    model.train()
    n = len(holdouts)
    return hits / n, ndcg / n, time.perf_counter() - t0


def load_mtrec_weights(model, path):
    """Copies an mtrec seq run's model.safetensors into `model` by name (mtrec's Linear
    weights are (D_in, D_out), torch's (D_out, D_in); biases and layer-norm rows (1, D))."""
    from safetensors.numpy import load_file

    w = {k: torch.from_numpy(v.copy()) for k, v in load_file(path).items()}
    with torch.no_grad():
        model.item_emb.copy_(w["item.emb"])
        model.pos_emb.copy_(w["pos.emb"])
        for l, blk in enumerate(model.blocks):
            for name in ("wq", "wk", "wv", "ffn1", "ffn2"):
                getattr(blk, name).weight.copy_(w[f"block{l}.{name}.w"].t())
                getattr(blk, name).bias.copy_(w[f"block{l}.{name}.b"].reshape(-1))
            for name in ("ln_attn", "ln_ffn"):
                getattr(blk, name).weight.copy_(w[f"block{l}.{name}.gamma"].reshape(-1))
                getattr(blk, name).bias.copy_(w[f"block{l}.{name}.beta"].reshape(-1))
        model.ln_out.weight.copy_(w["ln_out.gamma"].reshape(-1))
        model.ln_out.bias.copy_(w["ln_out.beta"].reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--ids", required=True, help="ids.json of an mtrec seq run on Beauty")
    ap.add_argument("--orders", help="mtrec's per-epoch example order (MTREC_SEQ_ORDER_OUT)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--valid", action="store_true", help="also score all validation users each epoch")
    ap.add_argument("--check-weights", metavar="MODEL_SAFETENSORS",
                    help="no training: load an mtrec run's weights and print its test and validation "
                         "HR@10 / NDCG@10 by this script's forward pass and protocol (they must equal "
                         "the run's summary.json)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    seqs, v = load(a.data_dir, a.ids)
    train, valid, test = leave_last_out(seqs)
    orders = [json.loads(l) for l in open(a.orders)] if a.orders else None
    model = SASRec(v, a.max_len, a.dim, a.blocks, a.heads, a.dropout)
    if a.check_weights:
        load_mtrec_weights(model, a.check_weights)
        hr, nd, secs = evaluate(model, test, a.max_len)
        vh, vn, _ = evaluate(model, valid, a.max_len)
        print(json.dumps({"weights": a.check_weights, "test_hr10": round(hr, 5), "test_ndcg10": round(nd, 5),
                          "valid_hr10": round(vh, 5), "valid_ndcg10": round(vn, 5),
                          "test_eval_seconds": round(secs, 3), "test_pairs_per_s": round(len(test) * v / secs)}))
        return
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "users": len(seqs),
                      "items": v, "train_sequences": len(train), "parameters": params,
                      "batches": "mtrec's order" if orders else "numpy shuffle"}), flush=True)
    for epoch in range(a.epochs):
        if orders:
            order = orders[epoch]
        else:
            order = np.random.default_rng(a.seed + epoch + 1).permutation(len(train)).tolist()
        model.train()
        t0 = time.perf_counter()
        loss_sum, steps = 0.0, 0
        for i in range(0, len(order), a.batch_size):
            ids, rows, targets = train_batch([train[j] for j in order[i : i + a.batch_size]], a.max_len)
            loss = F.cross_entropy(model.logits(model.hidden(ids, rows)), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            steps += 1
        secs = time.perf_counter() - t0
        hr, nd, eval_s = evaluate(model, test, a.max_len)
        line = {"epoch": epoch + 1, "train_seconds": round(secs, 3),
                "samples_per_s": round(len(order) / secs, 1), "train_loss": loss_sum / steps,
                "peak_rss_mb": round(peak_rss_mb(), 1), "test_hr10": round(hr, 5),
                "test_ndcg10": round(nd, 5), "test_eval_seconds": round(eval_s, 3),
                "test_pairs_per_s": round(len(test) * v / eval_s)}
        if a.valid:
            vh, vn, _ = evaluate(model, valid, a.max_len)
            line["valid_hr10"], line["valid_ndcg10"] = round(vh, 5), round(vn, 5)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
