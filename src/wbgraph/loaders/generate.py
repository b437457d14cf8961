"""``wbgraph generate``: synthetic wholesale-banking data with structure a recommender can find.

The generative story (every draw comes from one seeded ``numpy`` generator, so a seed
always gives the same file):

1. **Customers.** Each customer gets a type (mostly Corporate), an industry, a location,
   a relationship manager who covers that location, and a company size (log-normal,
   larger for Institutional and Government). A credit score is drawn around a level that
   rises with size; the default probability is a logistic function of the score, and the
   risk rating is read off the default probability (Low < 2%, Medium < 6%, High), so the
   three always agree. Exposure grows with size. Each customer also has a hidden taste
   vector of ``TASTE_DIM`` numbers, never written to the file.
2. **Products.** Each product has a type; its category, subcategory, regulation and
   transaction type follow from the type (a Loan is Lending, Term Loans or Credit
   Facilities, under Basel III or CCAR, paid out as Loan Disbursements), a feature, a
   hidden taste vector, and a popularity that falls off as a power law with its rank
   (a long tail).
3. **Affinity.** A customer's affinity for a product is its taste match (dot product of
   the two hidden vectors) + the product's popularity + an industry x category effect +
   a customer-type x product-type effect + a size effect + a penalty for lending to
   High-risk customers. ``--truth`` writes every customer's products ranked three ways:
   by this affinity (the ceiling a recommender that knew the hidden taste could reach); by
   the affinity without the taste (what the customer's attributes alone can tell); and by
   the posterior probability of being the customer's next adoption given its attributes and
   every adoption but the last (the ceiling for any method that sees the history the
   evaluation shows it: the Bayes-optimal ranking, from a Monte Carlo posterior over the
   taste, knowing every parameter of this story).
4. **Adoption.** Customers adopt 4 + Poisson(larger for larger firms) products, drawn
   without replacement with probability proportional to exp(affinity) (the Gumbel top-k
   trick), one after another at increasing dates over the year, in the order drawn.
With ``groups`` (``wbgraph generate --groups``) some customers belong to corporate groups,
drawn after step 1 (:mod:`wbgraph.loaders.groups`: a group's members like the same products,
adopt their parent's products after it, and share a credit-score shock), and the hierarchy
file's rows come with the transactions.

5. **Transactions.** The requested number of rows is shared out over the adoptions in
   proportion to exp(affinity), at least one per adoption: the first on the adoption date,
   the rest between it and the end of the year. Amounts and values scale with company size;
   frequency, usage and engagement rise with affinity; ``Product Adoption`` counts the
   products the customer had adopted by then. Market data and economic indicators are
   daily random walks shared by all rows of a day. Transaction IDs are unique.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import columns
from .groups import Groups, draw_groups, spread

TASTE_DIM = 4  # a few latent needs (e.g. international reach, working-capital intensity)
TASTE_WEIGHT = 1.5
YEAR_START = pd.Timestamp("2025-01-01")
DAYS = 365

PRODUCT_LINES = {  # product type -> (category, subcategories, regulations, transaction type)
    "Loan": ("Lending", ("Term Loans", "Credit Facilities"), ("Basel III", "CCAR"), "Loan Disbursement"),
    "Deposit": ("Investments", ("Commercial Cards",), ("KYC",), "Deposit"),
    "Trade Finance": ("Trade Services", ("Supply Chain Finance",), ("AML", "KYC"), "Trade Settlement"),
    "Cash Management": (
        "Cash Management",
        ("Commercial Cards", "Credit Facilities"),
        ("KYC", "AML"),
        "Credit Facility",
    ),
    "Risk Management": ("Risk Management", ("Foreign Exchange",), ("Dodd-Frank",), "FX Trade"),
}
CURRENCY_BY_LOCATION = {
    "USA": "USD",
    "New York": "USD",
    "Europe": "EUR",
    "London": "GBP",
    "Tokyo": "JPY",
    "Asia": "JPY",
}
RMS_BY_LOCATION = {
    "USA": ("John Smith", "RM-001"),
    "New York": ("John Smith", "RM-001"),
    "Europe": ("Jane Doe", "RM-002"),
    "London": ("Jane Doe", "RM-002"),
    "Tokyo": ("RM-003",),
    "Asia": ("RM-003",),
}


@dataclass
class Generated:
    rows: pd.DataFrame  # the default input columns
    truth: dict  # customerId -> {"ranking": [productId...], "adopted": [productId...]}
    hierarchy: pd.DataFrame | None = None  # with groups: the hierarchy file's rows


def generate(
    rows: int,
    seed: int = 0,
    customers: int | None = None,
    products: int = 60,
    truth: bool = True,
    groups: bool = False,
) -> Generated:
    """Draw ``rows`` transactions over ``customers`` customers and ``products`` products.

    ``truth=False`` skips the rankings of the truth file (the history ceiling costs a few
    seconds per 10,000 customers). The steps draw from one generator in the story's order;
    ``groups`` draws corporate groups from a stream of their own (the hierarchy's rows in
    ``hierarchy``).
    """
    s = story(rows, seed, customers, products, groups)
    hierarchy = s.groups.stakes if s.groups is not None else None
    if not truth:
        return Generated(s.frame, {}, hierarchy)
    return Generated(s.frame, _truth(s.customers, s.products, s.adoptions, s.affinity, s.taste, seed), hierarchy)


@dataclass
class Story:
    """Everything :func:`generate` draws, hidden parts included (for measuring what a model could learn)."""

    customers: _Customers
    products: _Products
    affinity: np.ndarray  # [customers, products]
    taste: np.ndarray  # the affinity's hidden-taste part, [customers, products]
    adoptions: _Adoptions
    frame: pd.DataFrame  # the default input columns
    groups: Groups | None = None


def story(rows: int, seed: int = 0, customers: int | None = None, products: int = 60, groups: bool = False) -> Story:
    """The draws of :func:`generate` with these arguments, in the story's order (the same rows)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    c = _customers(rng, customers or max(20, min(rows // 20, 50_000)))
    g = draw_groups(seed, c.ids, products, YEAR_START) if groups else None
    if g is not None:
        _shock(c, g.score_shock)
    p = _products(rng, products)
    affinity, taste = _affinity(rng, c, p)
    if g is not None:  # hidden, as the taste is: the attributes do not show it
        affinity, taste = affinity + g.effect, taste + g.effect
    a = _adoptions(rng, c, affinity, rows)
    if g is not None:
        later = np.random.default_rng([seed, 3])
        order, offsets = spread(a.customer, a.product, a.offset, g.parent, DAYS * 0.95, later)
        a = _Adoptions(a.customer[order], a.product[order], offsets, a.affinity[order])
    return Story(c, p, affinity, taste, a, _transactions(rng, c, p, a, affinity, rows), g)


def _shock(c: _Customers, shock: np.ndarray) -> None:
    """A group's credit-score shock, with the default probability and risk rating that follow."""
    c.score = np.clip(c.score + shock, 300, 850)
    c.default_p, c.risk = _risk(c.score)


def _risk(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The default probability (logistic in the credit score) and the risk rating read off it."""
    default_p = 1 / (1 + np.exp((score - 560) / 28))
    return default_p, np.where(default_p < 0.02, "Low", np.where(default_p < 0.06, "Medium", "High"))


@dataclass
class _Customers:
    type: np.ndarray  # index into CUSTOMER_TYPES
    industry: np.ndarray  # index into INDUSTRIES
    location: np.ndarray  # index into LOCATIONS
    location_name: np.ndarray
    manager: np.ndarray
    log_size: np.ndarray
    size: np.ndarray
    score: np.ndarray
    default_p: np.ndarray
    risk: np.ndarray
    exposure: np.ndarray
    taste: np.ndarray  # [customers, TASTE_DIM], never written
    ids: np.ndarray


def _customers(rng: np.random.Generator, n_c: int) -> _Customers:
    """1. Type, industry, location, manager, size, a credit score that agrees with PD and risk, taste."""
    c_type = rng.choice(3, n_c, p=[0.6, 0.25, 0.15])
    c_industry = rng.choice(len(columns.INDUSTRIES), n_c, p=[0.25, 0.2, 0.25, 0.15, 0.15])
    c_location = rng.choice(len(columns.LOCATIONS), n_c)
    loc_names = np.array(columns.LOCATIONS)[c_location]
    c_rm = np.array([RMS_BY_LOCATION[name][rng.integers(len(RMS_BY_LOCATION[name]))] for name in loc_names])
    log_size = rng.normal(6.5 + 0.8 * (c_type > 0), 1.0)
    c_size = np.clip(np.round(np.exp(log_size)), 10, 500_000).astype(int)
    score = np.clip(rng.normal(640 + 18 * (log_size - 6.5), 45), 300, 850)
    default_p, risk = _risk(score)
    exposure = np.round(c_size * rng.lognormal(4.0, 0.5, n_c), 2)
    taste_c = rng.normal(0, 1, (n_c, TASTE_DIM))
    width = max(3, len(str(n_c)))
    ids = np.array([f"CUS-{i + 1:0{width}d}" for i in range(n_c)])
    return _Customers(
        c_type,
        c_industry,
        c_location,
        loc_names,
        c_rm,
        log_size,
        c_size,
        score,
        default_p,
        risk,
        exposure,
        taste_c,
        ids,
    )


@dataclass
class _Products:
    type: np.ndarray  # index into PRODUCT_TYPES_DRAWN
    lines: list  # each product's PRODUCT_LINES entry
    subcategory: np.ndarray
    regulation: np.ndarray
    feature: np.ndarray
    popularity: np.ndarray
    taste: np.ndarray  # [products, TASTE_DIM], never written
    ids: np.ndarray


PRODUCT_TYPES_DRAWN = list(PRODUCT_LINES)


def _products(rng: np.random.Generator, n_p: int) -> _Products:
    """2. Type and what follows from it, a feature, taste, and a long-tailed popularity."""
    p_type = rng.choice(len(PRODUCT_TYPES_DRAWN), n_p, p=[0.3, 0.2, 0.2, 0.15, 0.15])
    p_lines = [PRODUCT_LINES[PRODUCT_TYPES_DRAWN[t]] for t in p_type]
    p_sub = np.array([line[1][rng.integers(len(line[1]))] for line in p_lines])
    p_reg = np.array([line[2][rng.integers(len(line[2]))] for line in p_lines])
    p_feature = rng.choice(np.array(columns.PRODUCT_FEATURES), n_p)
    popularity = -1.1 * np.log1p(rng.permutation(n_p))  # power-law long tail
    taste_p = rng.normal(0, 1, (n_p, TASTE_DIM))
    width = max(3, len(str(n_p)))
    ids = np.array([f"PROD-{i + 1:0{width}d}" for i in range(n_p)])
    return _Products(p_type, p_lines, p_sub, p_reg, p_feature, popularity, taste_p, ids)


def _affinity(rng: np.random.Generator, c: _Customers, p: _Products) -> tuple[np.ndarray, np.ndarray]:
    """3. ``(affinity, taste part)``, both ``[customers, products]``."""
    types = PRODUCT_TYPES_DRAWN
    category_of_type = np.array([columns.PRODUCT_CATEGORIES.index(PRODUCT_LINES[t][0]) for t in types])
    industry_x_category = rng.normal(0, 1.2, (len(columns.INDUSTRIES), len(columns.PRODUCT_CATEGORIES)))
    ctype_x_ptype = rng.normal(0, 0.8, (3, len(types)))
    size_x_ptype = rng.normal(0, 0.3, len(types))
    lending = p.type == types.index("Loan")
    taste = c.taste @ p.taste.T / np.sqrt(TASTE_DIM) * TASTE_WEIGHT
    affinity = (
        taste
        + p.popularity[None, :]
        + industry_x_category[c.industry][:, category_of_type[p.type]]
        + ctype_x_ptype[c.type][:, p.type]
        + np.outer(c.log_size - 6.5, size_x_ptype[p.type])
        - 2.0 * np.outer(c.risk == "High", lending)
    )
    return affinity, taste


@dataclass
class _Adoptions:
    customer: np.ndarray  # grouped by customer, in adoption order
    product: np.ndarray
    offset: np.ndarray  # day of the year
    affinity: np.ndarray


def _adoptions(rng: np.random.Generator, c: _Customers, affinity: np.ndarray, rows: int) -> _Adoptions:
    """4. Gumbel top-k without replacement, in draw order, at sorted dates over the year."""
    n_c, n_p = affinity.shape
    k = np.minimum(4 + rng.poisson(np.clip(3.0 + 0.8 * (c.log_size - 6.5), 0.5, None)), n_p)
    perturbed = affinity + rng.gumbel(size=affinity.shape)
    order = np.argsort(-perturbed, axis=1)
    slot = np.arange(n_p)[None, :]
    adopted = slot < k[:, None]
    a_cust = np.repeat(np.arange(n_c), k)
    a_prod = order[adopted]
    # adoption dates: sorted uniform offsets within the year, one per adoption of a customer
    draws = rng.uniform(0, DAYS * 0.85, (n_c, n_p))
    draws[~adopted] = np.inf  # k sorted dates over the year for a customer adopting k products
    offsets = np.sort(draws, axis=1)[adopted]
    a_aff = affinity[a_cust, a_prod]
    # more adoptions than rows: keep the earliest adoptions (of random customers) that fit
    if len(a_cust) > rows:
        keep = np.sort(rng.permutation(len(a_cust))[:rows])
        a_cust, a_prod, offsets, a_aff = (x[keep] for x in (a_cust, a_prod, offsets, a_aff))
    return _Adoptions(a_cust, a_prod, offsets, a_aff)


def _transactions(
    rng: np.random.Generator, c: _Customers, p: _Products, a: _Adoptions, affinity: np.ndarray, rows: int
) -> pd.DataFrame:
    """5. One transaction per adoption, the rest shared out by exp(affinity); the default columns in date order."""
    weight = np.exp(np.clip(a.affinity, -6, 6))
    extra = rng.multinomial(rows - len(a.customer), weight / weight.sum())
    per = 1 + extra
    t_adopt = np.repeat(np.arange(len(a.customer)), per)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    is_first = np.isin(np.arange(rows), first)  # each adoption's first transaction
    start_day = a.offset[t_adopt]
    day = np.where(is_first, start_day, start_day + rng.uniform(0, 1, rows) * (DAYS - start_day))
    seconds = np.round(day * 86_400 + rng.uniform(0, 1, rows), 6)
    dates = YEAR_START + pd.to_timedelta(seconds, unit="s")

    t_c, t_p = a.customer[t_adopt], a.product[t_adopt]
    strength = 1 / (1 + np.exp(-a.affinity[t_adopt]))  # 0..1, rises with affinity
    amount = np.round(c.size[t_c] * rng.lognormal(2.5, 0.6, rows), 2)
    value = np.round(amount * rng.uniform(1.0, 3.0, rows), 2)
    frequency = 1 + rng.poisson(1 + 6 * strength)
    usage = np.clip(np.round(1 + 9 * strength + rng.normal(0, 1, rows)), 1, 10).astype(int)
    engagement = _engagement(rng, affinity, t_c)
    adoption_count = _adopted_so_far(a, t_c, day)
    day_index = np.minimum(day.astype(int), DAYS - 1)
    market = 500 + np.cumsum(rng.normal(0, 5, DAYS))
    economic = 3 + np.cumsum(rng.normal(0, 0.02, DAYS))
    currency = np.array([CURRENCY_BY_LOCATION[name] for name in columns.LOCATIONS])

    frame = pd.DataFrame(
        {
            "Customer ID": c.ids[t_c],
            "Customer Type": np.array(columns.CUSTOMER_TYPES)[c.type][t_c],
            "Industry": np.array(columns.INDUSTRIES)[c.industry][t_c],
            "Company Size": c.size[t_c],
            "Location": c.location_name[t_c],
            "Relationship Manager": c.manager[t_c],
            "Product ID": p.ids[t_p],
            "Product Type": np.array(PRODUCT_TYPES_DRAWN)[p.type][t_p],
            "Product Category": np.array([line[0] for line in p.lines])[t_p],
            "Product Subcategory": p.subcategory[t_p],
            "Product Features": p.feature[t_p],
            "Transaction ID": "",  # numbered below, in date order
            "Transaction Date": dates,
            "Transaction Type": np.array([line[3] for line in p.lines])[t_p],
            "Transaction Amount": amount,
            "Transaction Currency": currency[c.location][t_c],
            "Transaction Frequency": frequency,
            "Transaction Value": value,
            "Product Adoption": adoption_count,
            "Product Usage": usage,
            "Customer Engagement": engagement,
            "Credit Score": np.round(c.score, 1)[t_c],
            "Risk Rating": c.risk[t_c],
            "Default Probability": np.round(c.default_p, 5)[t_c],
            "Exposure": c.exposure[t_c],
            "Market Data": np.round(market[day_index], 2),
            "Economic Indicators": np.round(economic[day_index], 3),
            "Regulatory Requirements": p.regulation[t_p],
        }
    )
    frame = frame.sort_values("Transaction Date", kind="stable").reset_index(drop=True)
    frame["Transaction ID"] = [f"TRAN-{i + 1:0{max(6, len(str(rows)))}d}" for i in range(rows)]
    return frame.reindex(columns=list(columns.HEADERS))  # every column of the format; one not drawn here is empty


def _engagement(rng: np.random.Generator, affinity: np.ndarray, t_c: np.ndarray) -> np.ndarray:
    """Each transaction's customer engagement (1-10): the customer's own, higher the more it
    likes its favourite product, give or take one a transaction."""
    engagement_c = np.clip(
        np.round(3 + 6 * (1 / (1 + np.exp(-affinity.max(axis=1)))) + rng.normal(0, 1, len(affinity))), 1, 10
    )
    return np.clip(engagement_c[t_c] + rng.integers(-1, 2, len(t_c)), 1, 10).astype(int)


def _adopted_so_far(a: _Adoptions, t_c: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Products adopted by the customer up to each transaction (adoptions are sorted by customer, then date)."""
    adoption_keys = a.customer * (2.0 * DAYS) + a.offset
    transaction_keys = t_c * (2.0 * DAYS) + day
    return np.searchsorted(adoption_keys, transaction_keys, side="right") - np.searchsorted(
        adoption_keys, t_c * (2.0 * DAYS)
    )


def _truth(c: _Customers, p: _Products, a: _Adoptions, affinity: np.ndarray, taste: np.ndarray, seed: int) -> dict:
    """Each adopting customer's products ranked by affinity, by attributes alone and from its history."""
    ranking = np.argsort(-affinity, axis=1)
    observable = affinity - taste  # what the customer's attributes alone predict
    by_customer = np.argsort(a.customer, kind="stable")  # adoptions grouped by customer, in adoption order
    present, starts = np.unique(a.customer[by_customer], return_index=True)
    sequences = np.split(a.product[by_customer], starts[1:])
    from_history = history_ceiling(observable[present], p.taste, sequences, np.random.default_rng([seed, 1]))
    return {
        c.ids[i]: {
            "ranking": p.ids[ranking[i]].tolist(),
            "attributeRanking": p.ids[np.argsort(-observable[i])].tolist(),
            "historyRanking": p.ids[history].tolist(),
            "adopted": p.ids[sequence].tolist(),
        }
        for i, sequence, history in zip(present, sequences, from_history)
    }


def history_ceiling(
    observable: np.ndarray,
    taste_p: np.ndarray,
    sequences: list,
    rng: np.random.Generator,
    samples: int = 1000,
    batch: int = 64,
) -> list[np.ndarray]:
    """Each customer's products ranked by the posterior probability of being its last adoption.

    Knowing everything but the customer's taste, the adoptions before the last are a
    Plackett-Luce draw whose likelihood weighs ``samples`` draws of the taste from its prior;
    the weighted chance of each remaining product being drawn next is the Bayes-optimal
    score. Earlier adoptions rank last, in order.
    """
    n_c, n_p = observable.shape
    draws = rng.normal(0, 1, (samples, TASTE_DIM)) @ taste_p.T / np.sqrt(TASTE_DIM) * TASTE_WEIGHT  # [S, P]
    longest = max((len(s) - 1 for s in sequences), default=0)
    known = np.full((n_c, max(longest, 1)), -1)
    for i, s in enumerate(sequences):
        known[i, : len(s) - 1] = s[:-1]
    out = []
    for lo in range(0, n_c, batch):
        u = observable[lo : lo + batch, None, :] + draws[None]  # [B, S, P]
        e = np.exp(u - u.max(-1, keepdims=True))
        steps = known[lo : lo + batch]  # [B, L], -1 = padding
        chosen = (
            np.take_along_axis(e, np.maximum(steps, 0)[:, None, :].repeat(samples, 1), 2) * (steps >= 0)[:, None, :]
        )
        # Plackett-Luce: each pick against what was still left when it was made
        left = e.sum(-1, keepdims=True) - np.concatenate(
            [np.zeros_like(chosen[..., :1]), np.cumsum(chosen, -1)[..., :-1]], -1
        )
        log_weight = np.where(
            (steps >= 0)[:, None, :], np.log(np.where(chosen > 0, chosen, 1.0)) - np.log(left), 0.0
        ).sum(-1)
        weight = np.exp(log_weight - log_weight.max(1, keepdims=True))
        weight /= weight.sum(1, keepdims=True)
        rest = e.sum(-1) - chosen.sum(-1)  # [B, S]
        chance = np.einsum("bs,bsp->bp", weight / rest, e)
        for row, sequence in enumerate(steps):
            sequence = sequence[sequence >= 0]
            remaining = np.setdiff1d(np.arange(n_p), sequence)
            out.append(np.concatenate([remaining[np.argsort(-chance[row, remaining], kind="stable")], sequence]))
    return out


WRITE_ROWS = 200_000


def write(
    generated: Generated, output: str | Path, truth: str | Path | None = None, hierarchy: str | Path | None = None
) -> None:
    """Write the rows as CSV (dates with microseconds, as the seed notebook writes them), and,
    when named, the truth (JSON) and the hierarchy file of the groups (CSV).

    Column lists through the csv module: twice as fast as ``DataFrame.to_csv`` here; a slice
    of :data:`WRITE_ROWS` rows at a time, so the Python lists never hold the whole file (at
    10M rows they were half of the command's 19.6 GB).
    """
    frame = generated.rows
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(frame.columns)
        for start in range(0, len(frame), WRITE_ROWS):
            part = frame.iloc[start : start + WRITE_ROWS]
            columns = [
                part[name].dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
                if name == "Transaction Date"
                else part[name].tolist()
                for name in part.columns
            ]
            writer.writerows(zip(*columns))
    if truth:
        Path(truth).write_text(json.dumps({"customers": generated.truth}, separators=(",", ":")))
    if hierarchy and generated.hierarchy is not None:
        generated.hierarchy.to_csv(hierarchy, index=False, lineterminator="\n")
