"""MMoE, Shared-Bottom and PLE for the census task pair (all hidden layers ReLU)."""

import torch
from torch import nn

from data import EMBED_DIM, INPUT_DIM

N_TASKS = 2


class Embedder(nn.Module):
    """One embedding table (V + 1 rows, dim 8) per categorical column; output = concat of the
    29 embeddings in column order, then the 10 standardised numerics (width 242)."""

    def __init__(self, vocab_sizes):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v + 1, EMBED_DIM) for v in vocab_sizes)

    def forward(self, cat, num):
        return torch.cat([t(cat[:, j]) for j, t in enumerate(self.tables)] + [num], dim=1)


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


def towers(d_in):
    return nn.ModuleList(mlp([d_in, 32, 1]) for _ in range(N_TASKS))


def mix(gate_logits, expert_outs):
    """softmax(gate) weighted sum of experts: (B, E) x (B, E, D) -> (B, D)."""
    w = torch.softmax(gate_logits, dim=1)
    return torch.bmm(w.unsqueeze(1), expert_outs).squeeze(1)


class SharedBottom(nn.Module):
    def __init__(self, vocab_sizes, bottom=128):
        super().__init__()
        self.embed = Embedder(vocab_sizes)
        self.bottom = expert(INPUT_DIM, bottom)
        self.towers = towers(bottom)

    def forward(self, cat, num):
        h = self.bottom(self.embed(cat, num))
        return torch.cat([t(h) for t in self.towers], dim=1)  # (B, 2) logits


class MMoE(nn.Module):
    def __init__(self, vocab_sizes, n_experts=8, expert_dim=64):
        super().__init__()
        self.embed = Embedder(vocab_sizes)
        self.experts = nn.ModuleList(expert(INPUT_DIM, expert_dim) for _ in range(n_experts))
        self.gates = nn.ModuleList(nn.Linear(INPUT_DIM, n_experts) for _ in range(N_TASKS))
        self.towers = towers(expert_dim)

    def forward(self, cat, num):
        x = self.embed(cat, num)
        e = torch.stack([ex(x) for ex in self.experts], dim=1)  # (B, E, D)
        return torch.cat([t(mix(g(x), e)) for g, t in zip(self.gates, self.towers)], dim=1)


class PLELevel(nn.Module):
    """One CGC level: per task `n_task` experts, `n_shared` shared experts. Task gate k mixes
    [task k's experts, shared experts] from task k's input; with `shared_gate`, a gate over all
    experts on the shared input produces the shared input of the next level."""

    def __init__(self, d_in, n_shared=4, n_task=2, expert_dim=64, shared_gate=False):
        super().__init__()
        self.task_experts = nn.ModuleList(
            nn.ModuleList(expert(d_in, expert_dim) for _ in range(n_task)) for _ in range(N_TASKS))
        self.shared_experts = nn.ModuleList(expert(d_in, expert_dim) for _ in range(n_shared))
        self.task_gates = nn.ModuleList(nn.Linear(d_in, n_task + n_shared) for _ in range(N_TASKS))
        self.shared_gate = (nn.Linear(d_in, N_TASKS * n_task + n_shared) if shared_gate else None)

    def forward(self, task_inputs, shared_input):
        shared = [ex(shared_input) for ex in self.shared_experts]
        task = [[ex(x) for ex in exps] for exps, x in zip(self.task_experts, task_inputs)]
        outs = [mix(g(x), torch.stack(t + shared, dim=1))
                for g, x, t in zip(self.task_gates, task_inputs, task)]
        shared_out = None
        if self.shared_gate is not None:
            all_experts = [e for t in task for e in t] + shared
            shared_out = mix(self.shared_gate(shared_input), torch.stack(all_experts, dim=1))
        return outs, shared_out


class PLE(nn.Module):
    def __init__(self, vocab_sizes, n_levels=2, expert_dim=64):
        super().__init__()
        self.embed = Embedder(vocab_sizes)
        self.levels = nn.ModuleList(
            PLELevel(INPUT_DIM if i == 0 else expert_dim, expert_dim=expert_dim,
                     shared_gate=i < n_levels - 1)
            for i in range(n_levels))
        self.towers = towers(expert_dim)

    def forward(self, cat, num):
        x = self.embed(cat, num)
        task_inputs, shared_input = [x] * N_TASKS, x
        for level in self.levels:
            task_inputs, shared_input = level(task_inputs, shared_input)
        return torch.cat([t(h) for t, h in zip(self.towers, task_inputs)], dim=1)


MODELS = {"mmoe": MMoE, "shared_bottom": SharedBottom, "ple": PLE}
