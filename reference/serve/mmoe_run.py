"""An mtrec MMoE run folder in PyTorch: the same weights, encoding and lists as mtrec.

Loads `model.safetensors` by parameter name (the `safetensors` package) and the run's
`spec.json` (vocabularies, numeric scaling), so a row gets the score `mtrec predict`
gives it (reference/serve/check_scores.py checks this). Layout, as in src/nn/feature_input.rs
and src/nn/moe.rs:

    x = [ emb_f[id_f] for categorical f | mean emb_m[bag_m] for multi-hot m | scaled numerics ]
    experts = relu(x · W_first + b_first)                  (B, E·D), expert e = columns e·D..(e+1)·D
    mix_k   = Σ_e softmax(x · W_gate_k + b_gate_k)_e · expert_e      (B, D)
    y_k     = relu(mix_k · W_k0 + b_k0) · W_k1 + b_k1       sigmoid for a binary task

Encoding (src/data/features/vocab.rs, numeric.rs): id 0 for a missing or unseen value;
a multi-hot cell is split at its separator, pieces trimmed, empty ones dropped; a missing
cell is the bag [0]; an empty bag's mean is 0. Numerics: missing -> fill, then
(x - center) / spread.

The recommender (`Lists`) mirrors mtrec recommend for the MovieLens preset: catalogue =
items of the training split (first training row's item features), a user's features from
their first training row, history = their training items (left out before scoring),
fusion from the run's [recommend.fusion] (product or sum), top-K with torch.topk.
"""

import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "movielens"))
import data as ml  # noqa: E402  (reference/movielens/data.py: same split as mtrec)


class Encoder:
    """spec.json -> ids and scaled numerics, as mtrec encodes them."""

    def __init__(self, spec):
        self.missing = set(spec.get("missing_values", []))
        self.cat = [(f["name"], self._vocab(f)) for f in spec["categorical"]]
        self.bags = [(f["name"], self._vocab(f), f["separator"]) for f in spec["multi_hot"]]
        self.num = []
        for f in spec["numeric"]:
            self.num.append((f["name"], f["fill"], f["center"], f["spread"] or 1.0))
        self.names = [n for n, _ in self.cat] + [n for n, _, _ in self.bags] + [n for n, *_ in self.num]

    @staticmethod
    def _vocab(f):
        enc = f["encoder"]
        if enc["type"] != "vocab":
            raise SystemExit(f"feature {f['name']}: encoder {enc['type']!r} is not supported here")
        return {v: i + 1 for i, v in enumerate(enc["values"])}

    def is_missing(self, v):
        return v is None or v in self.missing

    def cat_ids(self, j, values):
        vocab = self.cat[j][1]
        return [0 if self.is_missing(v) else vocab.get(v, 0) for v in values]

    def bag(self, j, text):
        _, vocab, sep = self.bags[j]
        if self.is_missing(text):
            return [0]
        toks = [t.strip() for t in text.split(sep)]
        return [0 if t in self.missing else vocab.get(t, 0) for t in toks if t]

    def bag_tensors(self, j, texts):
        """(ids, offsets) for F.embedding_bag."""
        ids, offsets = [], []
        for t in texts:
            offsets.append(len(ids))
            ids.extend(self.bag(j, t))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)

    def numeric(self, j, values):
        _, fill, center, spread = self.num[j]
        return [((fill if v is None else float(v)) - center) / spread for v in values]


class MMoE:
    """The run's MMoE, inference only."""

    def __init__(self, run):
        run = Path(run)
        self.spec = json.loads((run / "spec.json").read_text())
        self.cfg = tomllib.loads((run / "config.toml").read_text())
        if self.cfg["model"]["arch"] != "mmoe":
            raise SystemExit(f"{run}: model.arch is {self.cfg['model']['arch']!r}; this reference serves mmoe runs")
        self.enc = Encoder(self.spec)
        self.tasks = [(t["name"], t["kind"]) for t in self.spec["tasks"]]
        w = load_file(str(run / "model.safetensors"))
        self.emb_cat = [w[f"input.emb.{n}"] for n, _ in self.enc.cat]
        self.emb_bag = [w[f"input.emb.{n}"] for n, _, _ in self.enc.bags]
        self.w_first, self.b_first = w["mmoe.experts.first.w"], w["mmoe.experts.first.b"]
        self.n_experts = self.cfg["model"]["num_experts"]
        if any(k.startswith("mmoe.experts.") and ".first." not in k for k in w):
            raise SystemExit(f"{run}: experts with more than one layer are not supported here")
        self.gates = [(w[f"mmoe.gate.{k}.w"], w[f"mmoe.gate.{k}.b"]) for k in range(len(self.tasks))]
        self.towers = []
        for k in range(len(self.tasks)):
            layers, i = [], 0
            while f"mmoe.tower.{k}.{i}.w" in w:
                layers.append((w[f"mmoe.tower.{k}.{i}.w"], w[f"mmoe.tower.{k}.{i}.b"]))
                i += 1
            self.towers.append(layers)

    def forward_x(self, x):
        """(B, D_in) -> (B, K): probability (binary) or value (regression) per task."""
        return self.forward_first(torch.addmm(self.b_first, x, self.w_first),
                                  [torch.addmm(gb, x, gw) for gw, gb in self.gates])

    def forward_first(self, pre, gate_logits):
        """The network after its first layers: experts' pre-activations (B, E·D) and each
        task's gate logits (B, E) -> (B, K)."""
        b = pre.shape[0]
        ex = torch.relu(pre).view(b, self.n_experts, -1)
        outs = []
        for z, tower, (_, kind) in zip(gate_logits, self.towers, self.tasks):
            g = torch.softmax(z, dim=1)
            h = torch.bmm(g.unsqueeze(1), ex).squeeze(1)
            for i, (tw, tb) in enumerate(tower):
                h = torch.addmm(tb, h, tw)
                if i < len(tower) - 1:
                    h = torch.relu(h)
            outs.append(torch.sigmoid(h) if kind == "binary" else h)
        return torch.cat(outs, dim=1)

    def embed_rows(self, cols):
        """cols: feature name -> list of values (text, or number/None for numerics)."""
        parts = []
        for j, (name, _) in enumerate(self.enc.cat):
            ids = torch.tensor(self.enc.cat_ids(j, cols[name]), dtype=torch.long)
            parts.append(self.emb_cat[j][ids])
        for j, (name, _, _) in enumerate(self.enc.bags):
            ids, offsets = self.enc.bag_tensors(j, cols[name])
            parts.append(torch.nn.functional.embedding_bag(ids, self.emb_bag[j], offsets, mode="mean"))
        if self.enc.num:
            num = [self.enc.numeric(j, cols[name]) for j, (name, *_) in enumerate(self.enc.num)]
            parts.append(torch.tensor(num, dtype=torch.float32).T)
        return torch.cat(parts, dim=1)

    def predict(self, cols):
        with torch.inference_mode():
            return self.forward_x(self.embed_rows(cols))


class Lists:
    """mtrec recommend for a MovieLens run: catalogue, users, history, fusion, top-K."""

    def __init__(self, model, data_dir, two_tower=False):
        self.m = model
        rc = model.cfg["recommend"]
        self.user_features, self.item_features = rc["user_features"], rc["item_features"]
        self.exclude_history = rc.get("exclude_history", True)
        fusion = rc.get("fusion", {})
        self.kind = fusion.get("kind", "product")
        if self.kind not in ("product", "sum"):
            raise SystemExit(f"fusion {self.kind!r} is not supported by this reference")
        weights = fusion.get("weights", {})
        self.weights = [float(weights.get(n, 0.0 if weights else 1.0)) for n, _ in model.tasks]
        ratings, users, items, _ = ml.read_tables(data_dir)
        split = ml.split_assignment(len(ratings))
        self.item_ids, item_pos, self.history, self.user_row = [], {}, {}, {}
        lo, hi = math.inf, -math.inf
        for (u, i, r), s in zip(ratings, split):
            if s != 0:
                continue
            lo, hi = min(lo, r), max(hi, r)
            if str(i) not in item_pos:
                item_pos[str(i)] = len(self.item_ids)
                self.item_ids.append(str(i))
            self.history.setdefault(str(u), set()).add(item_pos[str(i)])
            if str(u) not in self.user_row:
                age, gender, occupation = users[u]
                self.user_row[str(u)] = {"user_id": str(u), "gender": gender,
                                         "occupation": occupation, "age": age}
        self.item_pos = item_pos
        # scale of each task for the fusion: probability as is, regression min-max of the
        # training labels (the rating task's labels; like is binary)
        self.scales = [None if kind == "binary" else (lo, hi) for _, kind in model.tasks]
        # item side encoded once: (N_items, D_item) block of x, in feature order
        cols = {"item_id": self.item_ids,
                "genres": ["|".join(items[int(i)]) for i in self.item_ids]}
        self.item_x = self._side(cols, self.item_features)
        # two-tower split (as mtrec's src/recommend/two_tower.rs): first layers are linear
        # in x, so x(u, i)·W + b = (user columns of x)·W + b + (item columns of x)·W; the
        # items' part is computed once here
        self.two_tower = two_tower
        if two_tower:
            with torch.inference_mode():
                xi = self._assemble(None, torch.arange(len(self.item_ids)))
                self.q_experts = xi @ model.w_first
                self.q_gates = [xi @ gw for gw, _ in model.gates]

    def _side(self, cols, names):
        """The columns of x that belong to `names` (categorical, multi-hot, numeric)."""
        m, parts = self.m, []
        for j, (name, _) in enumerate(m.enc.cat):
            if name in names:
                parts.append(m.emb_cat[j][torch.tensor(m.enc.cat_ids(j, cols[name]), dtype=torch.long)])
        for j, (name, _, _) in enumerate(m.enc.bags):
            if name in names:
                ids, off = m.enc.bag_tensors(j, cols[name])
                parts.append(torch.nn.functional.embedding_bag(ids, m.emb_bag[j], off, mode="mean"))
        for j, (name, *_) in enumerate(m.enc.num):
            if name in names:
                parts.append(torch.tensor(m.enc.numeric(j, cols[name]), dtype=torch.float32)[:, None])
        return parts

    def _assemble(self, user_parts, item_rows):
        """x rows (user u, item i) in the input layer's column order; a side given as
        None is zeros (for the two-tower split). n = len(item_rows), or 1."""
        m = self.m
        n = 1 if item_rows is None else len(item_rows)
        u_it = iter(user_parts) if user_parts is not None else None
        i_it, parts = iter(self.item_x), []
        order = [n for n, _ in m.enc.cat] + [n for n, _, _ in m.enc.bags] + [n for n, *_ in m.enc.num]
        for name in order:
            if name in self.user_features:
                if u_it is None:
                    parts.append(None)
                else:
                    parts.append(next(u_it).expand(n, -1))
            else:
                block = next(i_it)
                parts.append(torch.zeros(n, block.shape[1]) if item_rows is None else block[item_rows])
        if u_it is None:  # user blocks' widths: the feature dims (numerics are 1 wide)
            dims = {nm: t.shape[1] for nm, t in zip([c for c, _ in m.enc.cat], m.emb_cat)}
            dims.update({nm: t.shape[1] for nm, t in zip([c for c, _, _ in m.enc.bags], m.emb_bag)})
            parts = [torch.zeros(n, dims.get(name, 1)) if p is None else p for name, p in zip(order, parts)]
        return torch.cat(parts, dim=1)

    def fuse(self, v):
        """(N, K) task values -> (N,) scores, float64 as in src/recommend/fusion.rs."""
        cols = []
        for k, sc in enumerate(self.scales):
            s = v[:, k]
            if sc is not None:
                lo, hi = sc
                s = ((s - lo) / (hi - lo)).clamp(0.0, 1.0) if hi > lo else s
            cols.append(s.double())
        if self.kind == "product":
            return torch.exp(sum(w * torch.log(s.clamp_min(1e-12)) for w, s in zip(self.weights, cols) if w))
        return sum(w * s for w, s in zip(self.weights, cols))

    def recommend(self, user, features, candidates, k, exclude_history=None):
        """Top-k of `candidates` (item ids, or None = the catalogue) for `user`: list of
        (item, score, task values) and the number of unknown candidates."""
        row = dict(self.user_row.get(user, {"user_id": user}))
        row.update(features)
        missing = [f for f in self.user_features if f not in row]
        if missing:
            raise ValueError(f"user {user!r} is not in the training data; give features {missing}")
        if candidates is None:
            pos, unknown = list(range(len(self.item_ids))), 0
        else:
            pos = [self.item_pos[c] for c in candidates if c in self.item_pos]
            unknown = len(candidates) - len(pos)
        if exclude_history if exclude_history is not None else self.exclude_history:
            hist = self.history.get(user, set())
            pos = [p for p in pos if p not in hist]
        if not pos:
            return [], unknown
        cols = {f: [row[f]] for f in self.user_features}
        with torch.inference_mode():
            user_parts = self._side(cols, self.user_features)
            rows = torch.tensor(pos, dtype=torch.long)
            if self.two_tower:
                xu = self._assemble(user_parts, None)  # (1, D_in), item columns 0
                pre = self.q_experts[rows] + torch.addmm(self.m.b_first, xu, self.m.w_first)
                gates = [q[rows] + torch.addmm(gb, xu, gw) for q, (gw, gb) in zip(self.q_gates, self.m.gates)]
                v = self.m.forward_first(pre, gates)
            else:
                v = self.m.forward_x(self._assemble(user_parts, rows))
            score = self.fuse(v)
            top = torch.topk(score, min(k, len(pos)))
        out = [(self.item_ids[pos[j]], float(s), v[j].tolist())
               for s, j in zip(top.values.tolist(), top.indices.tolist())]
        return out, unknown


def read_rows_for_check(data_dir):
    """All ML-100K rows as feature columns (for check_scores.py)."""
    ratings, users, items, _ = ml.read_tables(data_dir)
    return {
        "user_id": [str(u) for u, _, _ in ratings],
        "item_id": [str(i) for _, i, _ in ratings],
        "gender": [users[u][1] for u, _, _ in ratings],
        "occupation": [users[u][2] for u, _, _ in ratings],
        "genres": ["|".join(items[i]) for _, i, _ in ratings],
        "age": [users[u][0] for u, _, _ in ratings],
    }


def np_scores(model, cols, batch=4096):
    n = len(next(iter(cols.values())))
    out = []
    for s in range(0, n, batch):
        out.append(model.predict({k: v[s:s + batch] for k, v in cols.items()}).numpy())
    return np.concatenate(out)
