"""The learned-embedding baselines: BPR matrix factorisation and LightGCN.

Both learn one vector per customer and per product from the interactions alone; both stop
where a validation figure peaks (``validate``), and are then trained again, for the chosen
epochs, on what the test-time question knows (:mod:`wbgraph.gnn.baselines`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from .model import bpr_loss

DENSE_SCORES = 20_000_000  # up to this many customers x products a step scores every pair (5x faster on Santander)


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
    dense = n_c * n_p <= DENSE_SCORES
    best, best_scores, best_epoch = -1.0, None, epochs
    for epoch in range(1, epochs + 1):
        negative = torch.randint(0, n_p, (len(c),), generator=generator)
        if dense:  # every score, then the pairs': the gradient is a dense product, not 160k scattered rows
            everything = users @ items.T + bias
            pos, neg = everything[c, p], everything[c, negative]
        else:
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
    """LightGCN (He et al. 2020, ``torch_geometric.nn.LightGCN``'s weights and loss) trained with BPR in mini-batches.

    Trained on ``train``'s interactions, ``batch_size`` at a time. Every step needs the
    batch's embeddings after ``layers`` rounds of propagation; :class:`Propagation` computes
    exactly those (the same as ``LightGCN.get_embedding``'s rows), without propagating over
    the whole graph each step where the product side is small (a month of the Santander data:
    10 ms a step instead of 250 through ``LGConv``). With ``validate`` (scores over
    ``train``'s graph -> figure) it stops after ``patience`` checks (every ``every`` epochs)
    without improvement and keeps the best weights. The returned scores propagate those
    weights over ``known``'s graph (default ``train``). Returns ``(scores, best epoch, best
    validation figure)``.
    """
    from torch_geometric.nn import LightGCN

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n_c, n_p = train.shape
    model = LightGCN(n_c + n_p, dim, layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    graph = Propagation(train)
    c, p = train.nonzero(as_tuple=True)
    best, best_state, best_epoch, stale = -1.0, None, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(c), generator=generator)
        for batch in order.split(batch_size):
            bc, bp = c[batch], p[batch]
            negative = torch.randint(0, n_p, (len(batch),), generator=generator)
            customers, row = torch.unique(bc, return_inverse=True)
            customer, product = graph.embeddings(model, customers)
            positive_rank = (customer[row] * product[bp]).sum(-1)
            negative_rank = (customer[row] * product[negative]).sum(-1)
            nodes = torch.cat([customers, torch.unique(torch.cat([bp, negative])) + n_c])
            loss = model.recommendation_loss(positive_rank, negative_rank, node_id=nodes, lambda_reg=weight_decay)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if validate is not None and (epoch % every == 0 or epoch == epochs):
            figure = validate(_lightgcn_scores(model, graph))
            if figure > best:
                best, best_epoch, stale = figure, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    scores = _lightgcn_scores(model, Propagation(train if known is None else known))
    return scores, best_epoch or epochs, best


SMALL_SIDE = 4096  # up to this many products a step's embeddings come from the product side alone


class Propagation:
    """LightGCN's propagation over the customer-product graph of ``matrix``, normalised once:
    ``D^-1/2 A D^-1/2``, what ``LGConv`` normalises an edge list to at every call.

    The graph is bipartite: ``A`` is ``R`` (customers x products) and ``R'``. Every customer's
    layer is ``R`` times the products' layer before it, and every product layer after the first
    is ``G = R'R`` (products x products) times the one two before: with ``q = R' x_customers``
    the products' layers are ``x_p, q, G x_p, G q, ...`` and a customer's are its ``x_c`` and its
    row of ``R`` times those. So a batch's embeddings need one sparse product over the graph
    (``q``) and the batch's rows of ``R``: exactly ``LightGCN.get_embedding``'s, at a fraction of
    the cost. Beyond :data:`SMALL_SIDE` products (``G`` would be large) every layer is one
    symmetric sparse product over the whole graph (:class:`_Symmetric`).
    """

    def __init__(self, matrix: torch.Tensor):
        self.n_c, n_p = matrix.shape
        x = (matrix != 0).float()
        scale_c = x.sum(1).clamp(min=1.0).rsqrt()
        scale_p = x.sum(0).clamp(min=1.0).rsqrt()
        c, p = x.nonzero(as_tuple=True)
        values = scale_c[c] * scale_p[p]
        with warnings.catch_warnings():  # "sparse CSR support is in beta": the operations used here are stable
            warnings.simplefilter("ignore", UserWarning)
            if n_p <= SMALL_SIDE:
                r = torch.sparse_coo_tensor(torch.stack([c, p]), values, (self.n_c, n_p), check_invariants=False)
                self.r_coo = r.coalesce()
                self.r = self.r_coo.to_sparse_csr()
                self.rt = r.t().coalesce().to_sparse_csr()
                self.g = self.rt @ torch.zeros(self.n_c, n_p).index_put_((c, p), values)
                self.a = None
                return
            n = self.n_c + n_p
            index = torch.stack([torch.cat([c, p + self.n_c]), torch.cat([p + self.n_c, c])])
            coo = torch.sparse_coo_tensor(index, torch.cat([values, values]), (n, n), check_invariants=False)
            self.a = coo.coalesce().to_sparse_csr()

    def embeddings(self, model: torch.nn.Module, customers: torch.Tensor | None = None) -> tuple:
        """``(customers' embeddings, every product's embedding)``: ``LightGCN.get_embedding``'s rows
        of ``customers`` (default: all) and of the products."""
        weight, alpha, layers = model.embedding.weight, model.alpha, model.num_layers
        if self.a is not None:
            out = weight * alpha[0]
            x = weight
            for k in range(layers):
                x = _Symmetric.apply(self.a, x)
                out = out + x * alpha[k + 1]
            return (out[: self.n_c] if customers is None else out[customers]), out[self.n_c :]
        x_c, x_p = weight[: self.n_c], weight[self.n_c :]
        product_layers = [x_p, _Transposed.apply(self.rt, self.r, x_c)]  # x_p, R' x_c
        while len(product_layers) < layers + 1:
            product_layers.append(self.g @ product_layers[-2])
        products = sum(a * layer for a, layer in zip(alpha, product_layers))
        if customers is None:  # every customer (scoring, without gradients): R's sparse rows
            rows, own = self.r, x_c
        else:  # a batch's rows of R, dense: small, and their gradient flows to the product layers
            rows, own = torch.index_select(self.r_coo, 0, customers).to_dense(), x_c[customers]
        customer = own * alpha[0]
        for k in range(1, layers + 1):
            customer = customer + alpha[k] * (rows @ product_layers[k - 1])
        return customer, products


class _Transposed(torch.autograd.Function):
    """``R' @ x`` for a sparse ``R`` kept both ways: the gradient is ``R @ grad`` (no transpose built each step)."""

    @staticmethod
    def forward(ctx: object, transposed: torch.Tensor, matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.matrix = matrix
        return transposed @ x

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> tuple:
        return None, None, ctx.matrix @ grad


class _Symmetric(torch.autograd.Function):
    """``A @ x`` for a symmetric sparse ``A``: its gradient is ``A @ grad`` (no transpose to build each step)."""

    @staticmethod
    def forward(ctx: object, adjacency: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return adjacency @ x

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> tuple:
        return None, ctx.adjacency @ grad


@torch.no_grad()
def _lightgcn_scores(model: torch.nn.Module, propagate: Propagation) -> torch.Tensor:
    model.eval()
    customers, products = propagate.embeddings(model)
    return customers @ products.T
