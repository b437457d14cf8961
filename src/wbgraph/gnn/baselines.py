"""The methods a sceptical analyst tries first, scored exactly like the GAT.

Each returns a ``[customers, products]`` score matrix from the training interactions only.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import bpr_loss


def interaction_matrix(customers: np.ndarray, products: np.ndarray, n_customers: int, n_products: int) -> torch.Tensor:
    m = torch.zeros(n_customers, n_products)
    m[torch.as_tensor(customers), torch.as_tensor(products)] = 1.0
    return m


def popularity(train: torch.Tensor) -> torch.Tensor:
    """Every customer gets the products most customers adopted."""
    return train.sum(0, keepdim=True).expand_as(train).clone()


def segment_popularity(train: torch.Tensor, segment: np.ndarray) -> torch.Tensor:
    """The products most adopted within the customer's segment (e.g. type x industry), then overall."""
    seg = torch.tensor(np.asarray(segment), dtype=torch.long)
    per_segment = torch.zeros(int(seg.max()) + 1 if len(seg) else 1, train.shape[1]).index_add_(0, seg, train)
    return per_segment[seg] + 1e-3 * popularity(train)


def item_knn(train: torch.Tensor) -> torch.Tensor:
    """Item co-occurrence kNN: products often held together with the customer's products (cosine)."""
    co = train.T @ train
    norms = torch.sqrt(torch.diag(co)).clamp(min=1e-9)
    similarity = co / norms[:, None] / norms[None, :]
    similarity.fill_diagonal_(0.0)
    return train @ similarity + 1e-3 * popularity(train)


def matrix_factorisation(
    train: torch.Tensor, dim: int = 32, epochs: int = 300, lr: float = 0.02, weight_decay: float = 1e-4, seed: int = 0
) -> torch.Tensor:
    """BPR matrix factorisation with item biases, full batch."""
    generator = torch.Generator().manual_seed(seed)
    n_c, n_p = train.shape
    users = torch.nn.Parameter(0.1 * torch.randn(n_c, dim, generator=generator))
    items = torch.nn.Parameter(0.1 * torch.randn(n_p, dim, generator=generator))
    bias = torch.nn.Parameter(torch.zeros(n_p))
    optimiser = torch.optim.Adam([users, items, bias], lr=lr, weight_decay=weight_decay)
    c, p = train.nonzero(as_tuple=True)
    for _ in range(epochs):
        negative = torch.randint(0, n_p, (len(c),), generator=generator)
        pos = (users[c] * items[p]).sum(1) + bias[p]
        neg = (users[c] * items[negative]).sum(1) + bias[negative]
        loss = bpr_loss(pos, neg)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return users @ items.T + bias
