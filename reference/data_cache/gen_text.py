#!/usr/bin/env python3
"""A CSV with a text column, and a tiny BERT folder, for the text data-cache benchmark
(docs/benchmarks.md, "Streaming cache: text features").

ROWS rows of user (10k values), item (Zipf-ish over ITEMS values), title (one per item:
ITEMS distinct texts, every 7th quoted with commas and doubled quotes, some non-ASCII),
price, click. Deterministic. MODEL_DIR gets a tiny BERT (D = 8, 2 layers, the layout of
tests/tiny_bert_support: config.json, vocab.txt, model.safetensors), so the embedding of
the distinct texts costs little next to the build being measured.

    python3 reference/data_cache/gen_text.py ROWS ITEMS OUT.csv MODEL_DIR
"""
import json
import os
import random
import struct
import sys

WORDS = ["toy", "story", "heat", "night", "river", "café", "naïve", "東京", "king", "blue"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "toy", "story", "heat", "(", ")", "1995", "a", "##b"]


def title(i):
    w = [WORDS[(i * k + 3) % len(WORDS)] for k in (1, 7, 13)]
    t = f"{w[0]} {w[1]} {i} ({1950 + i % 70})"
    if i % 7 == 0:
        return '"' + f'{t}, the "{w[2]}" cut'.replace('"', '""') + '"'
    return t


def write_csv(n, items, out):
    rng = random.Random(23)
    with open(out, "w", encoding="utf-8") as f:
        f.write("user,item,title,price,click\n")
        for _ in range(n):
            u = rng.randrange(10000)
            it = int(items ** rng.random()) - 1  # heavy head, long tail
            it = (it * 7919 + rng.randrange(items) * (rng.random() < 0.3)) % items
            price = f"{rng.random() * 100:.2f}"
            click = 1 if (u + it) % 5 == 0 or rng.random() < 0.1 else 0
            f.write(f"{u},{it},{title(it)},{price},{click}\n")


def write_model(d):
    os.makedirs(d, exist_ok=True)
    cfg = {"vocab_size": 12, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
           "intermediate_size": 12, "max_position_embeddings": 16, "type_vocab_size": 2,
           "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    rng = random.Random(7)
    rnd = lambda n, s: [(rng.random() - 0.5) * 2 * s for _ in range(n)]
    D, F, V, P = 8, 12, 12, 16
    t = [("embeddings.word_embeddings.weight", [V, D], rnd(V * D, 1.0)),
         ("embeddings.position_embeddings.weight", [P, D], rnd(P * D, 0.5)),
         ("embeddings.token_type_embeddings.weight", [2, D], rnd(2 * D, 0.5)),
         ("embeddings.LayerNorm.weight", [D], [1.0] * D),
         ("embeddings.LayerNorm.bias", [D], rnd(D, 0.2)),
         ("pooler.dense.weight", [D, D], rnd(D * D, 0.2)),
         ("pooler.dense.bias", [D], rnd(D, 0.2))]
    for l in range(2):
        pre = f"encoder.layer.{l}"
        for name, din, dout in [("attention.self.query", D, D), ("attention.self.key", D, D),
                                ("attention.self.value", D, D), ("attention.output.dense", D, D),
                                ("intermediate.dense", D, F), ("output.dense", F, D)]:
            t.append((f"{pre}.{name}.weight", [dout, din], rnd(dout * din, 0.6)))
            t.append((f"{pre}.{name}.bias", [dout], rnd(dout, 0.2)))
        for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
            t.append((f"{pre}.{name}.weight", [D], [1.0] * D))
            t.append((f"{pre}.{name}.bias", [D], rnd(D, 0.2)))
    header, data, off = {}, b"", 0
    for name, shape, v in t:
        b = struct.pack(f"<{len(v)}f", *v)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    n, items, out, model = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    write_model(model)
    write_csv(n, items, out)
