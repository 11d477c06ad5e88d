"""MMoE for the MovieLens task pair (rating regression + like), all hidden layers ReLU."""

import torch
from torch import nn

from data import CATEGORICAL, GENRE_DIM, INPUT_DIM

N_TASKS = 2


class Embedder(nn.Module):
    """One embedding table (V + 1 rows) per categorical feature at its width (user_id 16,
    item_id 16, gender 8, occupation 8), the mean of the genre embeddings (G + 1 rows, plus
    a padding row that is left out of the mean), then the standardised age: width 57."""

    def __init__(self, vocab_sizes, n_genres):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v + 1, d)
                                    for v, (_, d) in zip(vocab_sizes, CATEGORICAL))
        self.genres = nn.EmbeddingBag(n_genres + 2, GENRE_DIM, mode="mean",
                                      padding_idx=n_genres + 1)

    def forward(self, cat, bags, num):
        return torch.cat([t(cat[:, j]) for j, t in enumerate(self.tables)]
                         + [self.genres(bags), num], dim=1)


def mlp(sizes):
    """Linear+ReLU for every layer but the last, which is a plain Linear."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def expert(d_in, d_out):
    return nn.Sequential(nn.Linear(d_in, d_out), nn.ReLU())


def mix(gate_logits, expert_outs):
    """softmax(gate) weighted sum of experts: (B, E) x (B, E, D) -> (B, D)."""
    w = torch.softmax(gate_logits, dim=1)
    return torch.bmm(w.unsqueeze(1), expert_outs).squeeze(1)


class MMoE(nn.Module):
    """8 experts Linear(57→64)+ReLU, one softmax gate Linear(57→8) per task, towers
    64→32→1. Output (B, 2): the predicted rating and the like logit."""

    def __init__(self, vocab_sizes, n_genres, n_experts=8, expert_dim=64):
        super().__init__()
        self.embed = Embedder(vocab_sizes, n_genres)
        self.experts = nn.ModuleList(expert(INPUT_DIM, expert_dim) for _ in range(n_experts))
        self.gates = nn.ModuleList(nn.Linear(INPUT_DIM, n_experts) for _ in range(N_TASKS))
        self.towers = nn.ModuleList(mlp([expert_dim, 32, 1]) for _ in range(N_TASKS))

    def forward(self, cat, bags, num):
        x = self.embed(cat, bags, num)
        e = torch.stack([ex(x) for ex in self.experts], dim=1)  # (B, E, D)
        return torch.cat([t(mix(g(x), e)) for g, t in zip(self.gates, self.towers)], dim=1)


def mtrec_init_(model):
    """Re-draws the weights the way mtrec does (src/nn/init.rs, mlp.rs, moe.rs,
    feature_input.rs): embeddings N(0, 0.05²); expert and tower layers He uniform
    U(±√(6 / fan_in)); gate layers Glorot uniform U(±√(6 / (fan_in + fan_out))); all biases
    zero. Without it the layers keep PyTorch's defaults (nn.Embedding N(0, 1), nn.Linear
    U(±1/√fan_in) for weights and biases), as in reference/census."""
    with torch.no_grad():
        for t in list(model.embed.tables) + [model.embed.genres]:
            nn.init.normal_(t.weight, std=0.05)
        model.embed.genres.weight[model.embed.genres.padding_idx].zero_()
        gates = {id(m) for g in model.gates for m in g.modules()}
        for m in model.modules():
            if isinstance(m, nn.Linear):
                fan_out, fan_in = m.weight.shape
                bound = (6.0 / (fan_in + fan_out)) ** 0.5 if id(m) in gates else (6.0 / fan_in) ** 0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)
    return model


MODELS = {"mmoe": MMoE}
INITS = ("torch", "mtrec")
