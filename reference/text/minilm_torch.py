"""all-MiniLM-L6-v2 in plain PyTorch (no transformers / sentence-transformers installed):
BERT basic tokenizer + WordPiece in Python, the encoder in torch, mean pooling + L2 norm.

It first checks itself against reference_embeddings.jsonl (token ids identical, cosine
>= 0.9999), then embeds the texts of --input (one per line) and prints texts/s, so it can
be timed side by side with `mtrec embed` on the same machine under the same load.

    reference/.venv/bin/python reference/text/minilm_torch.py \
        --model ../shared/models/all-MiniLM-L6-v2 --input titles.txt --latin1 --threads 2
"""
import argparse, json, math, time, unicodedata
import torch
from safetensors.torch import load_file


def is_punct(c):
    o = ord(c)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(o):
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF
            or 0x2A700 <= o <= 0x2B73F or 0x2B740 <= o <= 0x2B81F or 0x2B820 <= o <= 0x2CEAF
            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)


class WordPiece:
    def __init__(self, vocab_path, max_len):
        self.vocab = {}
        for i, t in enumerate(open(vocab_path, encoding="utf-8").read().split("\n")):
            self.vocab.setdefault(t, i)
        self.max_len = max_len

    def words(self, text):
        out = []
        for c in text:
            if c in "\t\n\r":
                out.append(" ")
            elif ord(c) == 0 or ord(c) == 0xFFFD or unicodedata.category(c).startswith("C"):
                continue
            elif c.isspace() or unicodedata.category(c) == "Zs":
                out.append(" ")
            elif is_cjk(ord(c)):
                out.append(f" {c} ")
            else:
                out.append(c)
        t = "".join(c for c in unicodedata.normalize("NFD", "".join(out)) if unicodedata.category(c) != "Mn").lower()
        words, cur = [], ""
        for c in t:
            if c.isspace() or is_punct(c):
                if cur:
                    words.append(cur)
                    cur = ""
                if is_punct(c):
                    words.append(c)
            else:
                cur += c
        if cur:
            words.append(cur)
        return words

    def encode(self, text):
        ids = [self.vocab["[CLS]"]]
        for w in self.words(text):
            if len(w) > 100:
                ids.append(self.vocab["[UNK]"])
                continue
            pieces, start = [], 0
            while start < len(w):
                end = len(w)
                while start < end:
                    p = ("##" if start else "") + w[start:end]
                    if p in self.vocab:
                        pieces.append(self.vocab[p])
                        break
                    end -= 1
                if start == end:
                    pieces = [self.vocab["[UNK]"]]
                    break
                start = end
            ids += pieces
        return ids[: self.max_len - 1] + [self.vocab["[SEP]"]]


class MiniLM(torch.nn.Module):
    def __init__(self, model_dir):
        super().__init__()
        self.cfg = json.load(open(f"{model_dir}/config.json"))
        self.w = load_file(f"{model_dir}/model.safetensors")

    def lin(self, x, name):
        return torch.nn.functional.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def ln(self, x, name):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.cfg["layer_norm_eps"])

    @torch.inference_mode()
    def forward(self, ids, mask):  # (B, T) each
        w, h = self.w, self.cfg["num_attention_heads"]
        b, t = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t] + w["embeddings.token_type_embeddings.weight"][0]
        x = self.ln(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for l in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{l}"
            split = lambda y: y.view(b, t, h, -1).transpose(1, 2)
            q, k, v = (split(self.lin(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
            s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
            c = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
            x = self.ln(self.lin(c, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            f = torch.nn.functional.gelu(self.lin(x, f"{p}.intermediate.dense"))
            x = self.ln(self.lin(f, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        m = mask[..., None].float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


def embed(model, tok, texts, batch_size):
    enc = [tok.encode(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(enc[i]))
    out = torch.zeros(len(texts), model.cfg["hidden_size"])
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        t = max(len(enc[i]) for i in idx)
        ids = torch.zeros(len(idx), t, dtype=torch.long)
        mask = torch.zeros(len(idx), t, dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(enc[i])] = torch.tensor(enc[i])
            mask[r, : len(enc[i])] = 1
        out[idx] = model(ids, mask)
    return out, enc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--latin1", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--compare", metavar="NPY", help="mtrec embed's .npy of the same texts: print the minimum cosine to it")
    ap.add_argument("--ids", metavar="N", type=int, default=0, help="print the token ids of the first N texts (JSON lines) and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = WordPiece(f"{a.model}/vocab.txt", json.load(open(f"{a.model}/sentence_bert_config.json"))["max_seq_length"])
    model = MiniLM(a.model)
    refs = [json.loads(l) for l in open(f"{a.model}/reference_embeddings.jsonl", encoding="utf-8")]
    emb, enc = embed(model, tok, [r["text"] for r in refs], a.batch_size)
    bad = [r["text"] for r, e in zip(refs, enc) if e != r["input_ids"]]
    cos = min(float(torch.dot(emb[i], torch.tensor(r["embedding"])) / torch.tensor(r["embedding"]).norm()) for i, r in enumerate(refs))
    print(f"reference check: {len(refs) - len(bad)}/{len(refs)} token-id lists identical, min cosine {cos:.7f}")
    assert not bad and cos >= 0.9999, f"the torch reference does not reproduce reference_embeddings.jsonl: {bad[:3]}"
    text = open(a.input, encoding="latin-1" if a.latin1 else "utf-8").read()
    texts = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    if a.ids:
        for t in texts[: a.ids]:
            print(json.dumps({"text": t, "input_ids": tok.encode(t)}, ensure_ascii=False))
        return
    t0 = time.perf_counter()
    out, _ = embed(model, tok, texts, a.batch_size)
    dt = time.perf_counter() - t0
    print(f"torch: embedded {len(texts)} texts into {tuple(out.shape)} in {dt:.2f} s ({len(texts) / dt:.1f} texts/s, {a.threads} threads)")
    if a.compare:
        raw = open(a.compare, "rb").read()  # .npy v1: magic, version, header length, header
        hl = int.from_bytes(raw[8:10], "little")
        theirs = torch.frombuffer(bytearray(raw[10 + hl :]), dtype=torch.float32).view(len(texts), -1)
        cos = (theirs * out).sum(1) / (theirs.norm(dim=1) * out.norm(dim=1)).clamp(min=1e-12)
        i = int(cos.argmin())
        print(f"mtrec vs torch: min cosine {float(cos[i]):.7f} over {len(texts)} texts (worst: {texts[i]!r})")


if __name__ == "__main__":
    main()
