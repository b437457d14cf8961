"""The methods a sceptical analyst tries first, scored exactly like the GAT.

Each returns a ``[customers, products]`` score matrix. :func:`fit_all` is the protocol
``wbgraph evaluate`` follows for every one of them: hyperparameters (EASE's regularisation,
when matrix factorisation and LightGCN stop) are chosen by fitting on the training part and
scoring the validation part; the chosen model is then fitted on training and validation
together, as the GAT sees both at test time, and only then scores the test part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .metrics import ranking_metrics
from .model import bpr_loss

EASE_LAMBDAS = (1.0, 10.0, 50.0, 200.0, 500.0, 2000.0)
EASE_MAX_SIDE = 20_000  # EASE solves a dense system of min(customers, products) squared
SELECTION_METRIC = "ndcg@10"


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


def ease(train: torch.Tensor, lam: float) -> torch.Tensor:
    """EASE (Steck 2019): the closed-form item-item model ``X B``, ``B`` with a zero diagonal.

    ``B = I - P / diag(P)`` with ``P = (X'X + lam I)^-1``. With fewer customers than products
    the same scores come from a customers x customers system (Woodbury): ``X P = K^-1 X``
    with ``K = X X' + lam I``, so ``X B = X - K^-1 X / diag(P)``, and
    ``diag(P) = (1 - colsum(X * K^-1 X)) / lam``. Solved in float64.
    """
    n_c, n_p = train.shape
    if n_c < n_p:
        x = train.double()
        kx = torch.linalg.solve(x @ x.T + lam * torch.eye(n_c, dtype=torch.float64), x)
        diagonal = (1.0 - (x * kx).sum(0)) / lam
        return (x - kx / diagonal).float()
    b = ease_weights(gram(train), lam)
    out = torch.empty(n_c, n_p)
    for rows in torch.arange(n_c).split(20_000):  # no customers x products float64 copy
        out[rows] = (train[rows].double() @ b).float()
    return out


def ease_weights(gram: torch.Tensor, lam: float) -> torch.Tensor:
    """EASE's item-item weights ``B = I - P / diag(P)`` (zero diagonal, float64) from ``X'X``.

    ``gram`` is ``X'X`` (:func:`gram`); the products x products system is what to solve when
    customers outnumber products, and with ``B`` in hand ``X B`` can be scored a block of
    customers at a time instead of as one customers x products matrix.
    """
    p = torch.linalg.inv(gram.double() + lam * torch.eye(gram.shape[0], dtype=torch.float64))
    b = -p / torch.diag(p)[None, :]
    b.fill_diagonal_(0.0)
    return b


def gram(train: torch.Tensor) -> torch.Tensor:
    """``X'X`` in float64, computed in float32 (exact for 0/1 interactions below 2**24 customers),
    so no float64 copy of the customers x products matrix is made."""
    return (train.T @ train).double()


def ease_neighbours(train: torch.Tensor, lam: float, k: int, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """EASE's item-item weights ``B`` kept as each product's ``k`` strongest (by ``|B|``) neighbours.

    Returns ``(edge_index [2, E], weight [E])``, sources ascending: ``B[i, j]`` is how much
    holding ``i`` says about ``j``. ``B``'s rows are built ``chunk`` at a time, so the memory
    is ``chunk x products`` beside the customers x customers (or products x products) system.
    """
    n_c, n_p = train.shape
    keep = min(k, max(n_p - 1, 1))
    if n_c < n_p:  # rows of P = (I - X' K^-1 X) / lam
        x = train.double()
        kx = torch.linalg.solve(x @ x.T + lam * torch.eye(n_c, dtype=torch.float64), x)
        diagonal = ((1.0 - (x * kx).sum(0)) / lam).float()
        x32, kx32 = x.float(), kx.float()  # rows of P in single precision: they only rank and weigh

        def rows_of_p(rows: torch.Tensor) -> torch.Tensor:
            out = x32[:, rows].T @ kx32
            out[torch.arange(len(rows)), rows] -= 1.0
            return -out / lam
    else:
        p = torch.linalg.inv(gram(train) + lam * torch.eye(n_p, dtype=torch.float64)).float()
        diagonal = torch.diag(p)

        def rows_of_p(rows: torch.Tensor) -> torch.Tensor:
            return p[rows]

    sources, targets, weights = [], [], []
    for start in range(0, n_p, chunk):
        rows = torch.arange(start, min(n_p, start + chunk))
        b = -rows_of_p(rows) / diagonal[None, :]
        b[torch.arange(len(rows)), rows] = 0.0
        strongest = b.abs().topk(keep, dim=1).indices
        sources.append(rows.repeat_interleave(keep))
        targets.append(strongest.reshape(-1))
        weights.append(b.gather(1, strongest).reshape(-1))
    source, target, weight = torch.cat(sources), torch.cat(targets), torch.cat(weights)
    nonzero = weight != 0
    return torch.stack([source[nonzero], target[nonzero]]), weight[nonzero]


def matrix_factorisation(
    train: torch.Tensor,
    dim: int = 32,
    epochs: int = 300,
    lr: float = 0.02,
    weight_decay: float = 1e-4,
    seed: int = 0,
    validate: Callable[[torch.Tensor], float] | None = None,
    every: int = 10,
) -> tuple[torch.Tensor, int, float | None]:
    """BPR matrix factorisation with item biases, full batch: ``(scores, epochs, validation figure)``.

    With ``validate`` (scores -> figure, higher is better) it is called every ``every``
    epochs and the scores of the best check are returned with their epoch and figure.
    """
    generator = torch.Generator().manual_seed(seed)
    n_c, n_p = train.shape
    users = torch.nn.Parameter(0.1 * torch.randn(n_c, dim, generator=generator))
    items = torch.nn.Parameter(0.1 * torch.randn(n_p, dim, generator=generator))
    bias = torch.nn.Parameter(torch.zeros(n_p))
    optimiser = torch.optim.Adam([users, items, bias], lr=lr, weight_decay=weight_decay)
    c, p = train.nonzero(as_tuple=True)
    best, best_scores, best_epoch = -1.0, None, epochs
    for epoch in range(1, epochs + 1):
        negative = torch.randint(0, n_p, (len(c),), generator=generator)
        pos = (users[c] * items[p]).sum(1) + bias[p]
        neg = (users[c] * items[negative]).sum(1) + bias[negative]
        loss = bpr_loss(pos, neg)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if validate is not None and (epoch % every == 0 or epoch == epochs):
            with torch.no_grad():
                scores = users @ items.T + bias
            figure = validate(scores)
            if figure > best:
                best, best_scores, best_epoch = figure, scores, epoch
    if validate is not None:
        return best_scores, best_epoch, best
    with torch.no_grad():
        return users @ items.T + bias, epochs, None


def lightgcn(
    train: torch.Tensor,
    known: torch.Tensor | None = None,
    dim: int = 64,
    layers: int = 3,
    epochs: int = 300,
    lr: float = 0.005,
    weight_decay: float = 1e-4,
    seed: int = 0,
    validate: Callable[[torch.Tensor], float] | None = None,
    every: int = 5,
    patience: int = 6,
    batch_size: int = 8192,
) -> tuple[torch.Tensor, int, float]:
    """LightGCN (He et al. 2020, ``torch_geometric.nn.LightGCN``) trained with BPR in mini-batches.

    Trained on ``train``'s interactions; with ``validate`` (scores over ``train``'s graph ->
    figure) it stops after ``patience`` checks (every ``every`` epochs) without improvement and
    keeps the best weights. The returned scores propagate those weights over ``known``'s
    graph (default ``train``): propagation has no parameters, so interactions that arrive
    after training inform the scores as they do the GAT's. Returns ``(scores, best epoch, best
    validation figure)``.
    """
    from torch_geometric.nn import LightGCN

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n_c, n_p = train.shape
    model = LightGCN(n_c + n_p, dim, layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    edges = _bipartite(train)
    c, p = train.nonzero(as_tuple=True)
    best, best_state, best_epoch, stale = -1.0, None, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(c), generator=generator)
        for batch in order.split(batch_size):
            bc, bp = c[batch], p[batch]
            negative = torch.randint(0, n_p, (len(batch),), generator=generator)
            label_index = torch.stack([torch.cat([bc, bc]), torch.cat([bp, negative]) + n_c])
            rank = model(edges, label_index)
            nodes = torch.unique(label_index)
            loss = model.recommendation_loss(rank[: len(bc)], rank[len(bc) :], node_id=nodes, lambda_reg=weight_decay)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if validate is not None and (epoch % every == 0 or epoch == epochs):
            figure = validate(_lightgcn_scores(model, edges, n_c))
            if figure > best:
                best, best_epoch, stale = figure, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    scores = _lightgcn_scores(model, _bipartite(train if known is None else known), n_c)
    return scores, best_epoch or epochs, best


def _bipartite(matrix: torch.Tensor) -> torch.Tensor:
    c, p = matrix.nonzero(as_tuple=True)
    p = p + matrix.shape[0]
    return torch.stack([torch.cat([c, p]), torch.cat([p, c])])


@torch.no_grad()
def _lightgcn_scores(model: torch.nn.Module, edges: torch.Tensor, n_c: int) -> torch.Tensor:
    model.eval()
    embedding = model.get_embedding(edges)
    return embedding[:n_c] @ embedding[n_c:].T


@dataclass
class Fitted:
    """A baseline's test-time scores and what it chose on the validation part."""

    scores: torch.Tensor
    chosen: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)  # the chosen setting's validation figures


def fit_all(
    train: torch.Tensor,
    val: torch.Tensor,
    known: torch.Tensor,
    segments: np.ndarray,
    seed: int = 0,
    lightgcn_epochs: int = 300,
    only: list[str] | None = None,
) -> dict[str, Fitted]:
    """Every baseline (or those ``only`` names), its choices made on ``val``, its test scores fitted on ``known``.

    ``train`` and ``known`` are float [customers, products] matrices of the training part
    and of training + validation; ``val`` is the boolean matrix of the validation part.
    """
    held = train.bool()

    def figure(scores: torch.Tensor) -> float:
        return ranking_metrics(scores, val, held, ks=(10,)).get(SELECTION_METRIC, 0.0)

    def run(name: str) -> bool:
        return not only or name in only

    out = {}
    if run("popularity"):
        out["popularity"] = Fitted(popularity(known))
    if run("segment popularity"):
        out["segment popularity"] = Fitted(segment_popularity(known, segments))
    if run("item kNN"):
        out["item kNN"] = Fitted(item_knn(known))
    if run("EASE") and min(train.shape) <= EASE_MAX_SIDE:
        tried = {lam: figure(ease(train, lam)) for lam in EASE_LAMBDAS}
        lam = max(tried, key=lambda k: (tried[k], -k))
        out["EASE"] = Fitted(ease(known, lam), {"lambda": lam}, {SELECTION_METRIC: tried[lam]})
    if run("matrix factorisation"):
        _, epochs, best = matrix_factorisation(train, seed=seed, validate=figure)
        mf, _, _ = matrix_factorisation(known, seed=seed, epochs=epochs)
        out["matrix factorisation"] = Fitted(mf, {"epochs": epochs}, {SELECTION_METRIC: best})
    if run("LightGCN"):
        scores, epoch, best = lightgcn(train, known, seed=seed, validate=figure, epochs=lightgcn_epochs)
        out["LightGCN"] = Fitted(scores, {"epochs": epoch}, {SELECTION_METRIC: best})
    return out
