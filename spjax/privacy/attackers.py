"""Fresh identity attackers on a frozen sensor's face measurements.

Each attacker is trained from scratch on the train split, selected on val (hyper-parameter grid
and early stopping), and scored once on test: closed-set identification top-1/top-5. Open-set
verification uses identities never seen in training: cosine scores between embeddings (the
attacker's penultimate layer; the standardised measurements for k-NN), TAR at fixed FAR.

Attackers: `lda` (shrinkage Fisher LDA, closed form), `ridge` (ridge regression to one-hot
labels, closed form), `linear` (softmax regression), `mlp`, `attention` (a small transformer
over chunks of the measurement vector), `knn` (numpy; k and metric chosen on val). The closed-
form attackers choose between the measurements as they come (one global scale: at full rate,
an orthogonal sensor then gives exactly the pixel-domain result) and per-feature
standardisation on val, together with their regularisation.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.models.classifiers import make_classifier
from spjax.privacy.attacks import ATTACKS, attack, names
from spjax.privacy.fitting import apply_model, cross_entropy, fit, model_features

# The T2 attackers on face measurements, their builders and grids: `attacks.ATTACKS`.
ATTACKERS = names(reads="faces")
# Closed form (their own input basis, chosen on val): the table's `fit_closed_form` rows.
CLOSED_FORM = tuple(n for n in ATTACKERS if ATTACKS[n].builder.endswith(":fit_closed_form"))
FARS = (1e-2, 1e-3)
# Grid point i of audit seed s initialises and shuffles from s·SEEDS_PER_RUN + i.
SEEDS_PER_RUN = 1000


@dataclass(frozen=True)
class Split:
    """Measurements `x (N, D)` and integer labels `y (N,)`."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        x, y = np.asarray(self.x), np.asarray(self.y)
        if x.ndim != 2:
            raise ValueError(f"Split.x: expected shape (N, D), got {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"Split.y: expected shape ({x.shape[0]},), got {y.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("Split.x: expected finite measurements, got NaN or inf")
        object.__setattr__(self, "x", x.astype(np.float32))
        object.__setattr__(self, "y", y.astype(np.int64))


# --------------------------------------------------------------------------- models

# The neural attackers are the shared identity classifiers, fresh and without per-sample
# standardisation (inputs are standardised with train-split statistics here); attention keeps
# each chunk's position (flattened), which identifies better than mean pooling.
_NEURAL_OPTIONS = {"linear": {}, "mlp": {}, "attention": {"pool": "flatten"}}


def mean_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


# --------------------------------------------------------------------------- scoring


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose true label is among the `k` highest scores (ties broken by
    index, so a constant score matrix gives chance, not 1)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def tar_at_far(embeddings: np.ndarray, labels: np.ndarray, fars=FARS) -> dict:
    """Verification over all pairs by cosine similarity. The threshold admits at most
    floor(FAR * n_impostor) impostor pairs; TAR is the share of genuine pairs above it.
    NaN when there are fewer than 1/FAR impostor pairs (the FAR is not measurable)."""
    e = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    iu = np.triu_indices(len(e), k=1)
    sims = (e @ e.T)[iu]
    same = (labels[:, None] == labels[None, :])[iu]
    genuine, impostor = sims[same], np.sort(sims[~same])[::-1]
    out = {}
    for far in fars:
        key = f"tar@far={far:g}"
        if len(genuine) == 0 or len(impostor) * far < 1:
            out[key] = float("nan")
            continue
        thr = impostor[int(math.floor(far * len(impostor)))]
        out[key] = float(np.mean(genuine > thr))
    return out


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve of scores `positive` (should be high) against `negative`:
    P(pos > neg) + ½ P(pos = neg), from average ranks (Mann–Whitney). NaN if either is empty."""
    pos, neg = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    if not len(pos) or not len(neg):
        return float("nan")
    values, inverse, counts = np.unique(
        np.concatenate([pos, neg]), return_inverse=True, return_counts=True
    )
    upper = np.cumsum(counts)  # 1-based rank of the last of each group of ties
    average = upper - (counts - 1) / 2.0
    rank_sum = average[inverse[: len(pos)]].sum()
    return float((rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def verification(embeddings: np.ndarray, labels: np.ndarray, fars=FARS) -> dict:
    """Open-set linkage over all pairs by cosine similarity: ROC `auc` of same-person against
    different-person pairs (0.5 = chance) and `tar@far=…` (see `tar_at_far`)."""
    e = np.asarray(embeddings, np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels)
    iu = np.triu_indices(len(e), k=1)
    sims = (e @ e.T)[iu]
    same = (labels[:, None] == labels[None, :])[iu]
    return {
        "auc": roc_auc(sims[same], sims[~same]),
        "pairs": {"genuine": int(same.sum()), "impostor": int((~same).sum())},
        **tar_at_far(e, labels, fars),
    }


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd = np.where(sd > 1e-8 * max(1.0, float(np.abs(mu).max(initial=0.0))), sd, 1.0)
    return [((a - mu) / sd).astype(np.float32) for a in (train, *others)]


def _knn_scores(train_x, train_y, query, n_classes, k, metric):
    if metric == "cosine":
        a = train_x / np.maximum(np.linalg.norm(train_x, axis=1, keepdims=True), 1e-12)
        b = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        sim = b @ a.T
    else:
        sim = -((query**2).sum(1)[:, None] - 2 * query @ train_x.T + (train_x**2).sum(1)[None, :])
    k = min(k, sim.shape[1])
    nn = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    scores = np.zeros((len(query), n_classes))
    rows = np.arange(len(query))[:, None]
    np.add.at(scores, (np.broadcast_to(rows, nn.shape), train_y[nn]), 1.0)
    # Break vote ties (and rank classes outside the k neighbours, for top-5) by each class's
    # best similarity, scaled below one vote.
    best = np.full((len(query), n_classes), -np.inf)
    np.maximum.at(
        best,
        (
            np.broadcast_to(np.arange(len(query))[:, None], sim.shape),
            np.broadcast_to(train_y[None, :], sim.shape),
        ),
        sim,
    )
    finite = np.isfinite(best)  # -inf: a class with no training sample
    lo, hi = (best[finite].min(), best[finite].max()) if finite.any() else (0.0, 1.0)
    tie = np.where(finite, (best - lo) / max(hi - lo, 1e-12), -1.0)  # in [0, 1]
    return scores + 0.5 * tie


def fit_knn(name, train, val, test, heldout_x, n_classes, *, seed, quick, grid):
    """k-NN: k and metric chosen on val; the standardised measurements are its embedding."""
    best = None
    for hp in grid:
        acc = topk_accuracy(_knn_scores(train.x, train.y, val.x, n_classes, **hp), val.y, 1)
        if best is None or acc > best[0]:
            best = (acc, hp)
    val_acc, hp = best
    scores = _knn_scores(train.x, train.y, test.x, n_classes, **hp)
    return {"val_top1": val_acc, "hparams": hp, "test_scores": scores, "heldout_embed": heldout_x}


def _global_scale(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre with the train mean and divide by one scale (the train RMS): unlike per-feature
    standardisation this commutes with orthogonal maps, so a full-rate orthogonal sensor gives
    the closed-form attackers exactly their pixel-domain result."""
    mu = train.mean(axis=0)
    scale = float(np.sqrt(np.mean((train - mu) ** 2)))
    scale = scale if scale > 0 else 1.0
    return [((a - mu) / scale).astype(np.float64) for a in (train, *others)]


def _preprocessings(train, val, test, heldout_x):
    """The two input bases the closed-form attackers choose between on val."""
    others = [val.x, test.x] + ([heldout_x] if heldout_x is not None else [])
    out = {"global": _global_scale(train.x, *others)}
    std = _standardise(train.x, *others)
    out["standardised"] = [a.astype(np.float64) for a in std]
    return out


class _ShrinkageLDA:
    """Fisher LDA with the within-class covariance shrunk towards its mean eigenvalue:
    Σ_a = (1 − a)·S_w + a·(tr S_w / D)·I, equal priors. Works in the span of the training
    residuals (a thin SVD), so D > N costs no D×D solve."""

    def __init__(self, x: np.ndarray, y: np.ndarray, n_classes: int):
        n, d = x.shape
        # A class with no train sample (a small split over many people) gets the overall
        # mean: uninformative, but finite for the scores and the embedding.
        overall = x.mean(axis=0)
        self.means = np.stack(
            [x[y == c].mean(axis=0) if np.any(y == c) else overall for c in range(n_classes)]
        )
        resid = (x - self.means[y]) / math.sqrt(n)
        _, sv, self.vt = np.linalg.svd(resid, full_matrices=False)
        self.ev = sv**2
        # Mean eigenvalue of S_w; a floor keeps a constant input (no scatter at all) finite.
        self.t = max(float(self.ev.sum()) / d, 1e-12)

    def _apply(self, z: np.ndarray, power: float, a: float) -> np.ndarray:
        """Rows of z times Σ_a^power (power −1 or −1/2)."""
        inner = ((1 - a) * self.ev + a * self.t) ** power
        proj = z @ self.vt.T
        return (proj * inner) @ self.vt + (a * self.t) ** power * (z - proj @ self.vt)

    def scores(self, q: np.ndarray, a: float) -> np.ndarray:
        pm = self._apply(self.means, -1.0, a)  # (C, D) = M Σ^-1
        return q @ pm.T - 0.5 * np.sum(self.means * pm, axis=1)

    def embed(self, q: np.ndarray, a: float) -> np.ndarray:
        """Whitened, projected on the (C − 1) discriminant directions (Fisherfaces)."""
        mw = self._apply(self.means, -0.5, a)
        _, _, rt = np.linalg.svd(mw - mw.mean(axis=0), full_matrices=False)
        return self._apply(q, -0.5, a) @ rt[: max(1, len(mw) - 1)].T


class _Ridge:
    """Ridge regression of centred one-hot labels, λ = alpha × the mean squared singular value."""

    def __init__(self, x: np.ndarray, y: np.ndarray, n_classes: int):
        u, self.sv, self.vt = np.linalg.svd(x, full_matrices=False)
        onehot = np.eye(n_classes)[y]
        self.uty = u.T @ (onehot - onehot.mean(axis=0))
        self.scale = max(float(np.mean(self.sv**2)), 1e-12)

    def weights(self, alpha: float) -> np.ndarray:
        shrink = self.sv / (self.sv**2 + alpha * self.scale)
        return self.vt.T @ (shrink[:, None] * self.uty)


def fit_closed_form(name, train, val, test, heldout_x, n_classes, *, seed=0, quick=False, grid):
    """Closed-form attacker `name` ("lda…" | "ridge…") on labelled splits (labels 0 … C − 1):
    basis and regularisation (`grid`) chosen on val. Returns `val_top1`, `hparams`,
    `test_scores` and, with `heldout_x`, `heldout_embed` (Fisher embedding for LDA, class
    scores for ridge)."""
    lda, best = name.startswith("lda"), None
    for basis, (xtr, xva, xte, *xho) in _preprocessings(train, val, test, heldout_x).items():
        model = (_ShrinkageLDA if lda else _Ridge)(xtr, train.y, n_classes)
        for hp in grid:
            if lda:
                score = lambda q, m=model, a=hp["shrinkage"]: m.scores(q, a)  # noqa: E731
            else:
                w = model.weights(hp["alpha"])
                score = lambda q, w=w: q @ w  # noqa: E731
            val_scores = score(xva)
            key = (topk_accuracy(val_scores, val.y, 1), -mean_cross_entropy(val_scores, val.y))
            if best is None or key > best[0]:
                best = (key, {**hp, "basis": basis}, model, score, xte, xho)
    (val_acc, _), hp, model, score, xte, xho = best
    out = {"val_top1": val_acc, "hparams": hp, "test_scores": score(xte)}
    if heldout_x is not None:
        out["heldout_embed"] = model.embed(xho[0], hp["shrinkage"]) if lda else score(xho[0])
    return out


def fit_neural(name, train, val, test, heldout_x, n_classes, *, seed, quick, grid):
    """A shared identity classifier (`linear`, `mlp`, `attention`) trained from scratch; the
    grid point with the best val top-1 (then cross-entropy) wins."""
    epochs, patience = (60, 10) if quick else (200, 20)
    best = None
    for i, hp in enumerate(grid):
        opts = {k: v for k, v in hp.items() if k not in ("lr", "weight_decay")}
        model = make_classifier(
            name,
            train.x.shape[1],
            n_classes,
            standardize=False,
            rngs=nnx.Rngs(seed * SEEDS_PER_RUN + i),
            **_NEURAL_OPTIONS[name],
            **opts,
        )
        val_x = jnp.asarray(val.x)

        def validate(m, val_x=val_x):
            logits = np.asarray(apply_model(m, val_x))
            return topk_accuracy(logits, val.y, 1), -mean_cross_entropy(logits, val.y)

        model, record = fit(
            model,
            train.x,
            train.y,
            loss=cross_entropy,
            validate=validate,
            lr=hp["lr"],
            weight_decay=hp["weight_decay"],
            epochs=epochs,
            patience=patience,
            batch=64,
            seed=seed * SEEDS_PER_RUN + i,
        )
        if best is None or record["val_score"] > best[0]:
            best = (record["val_score"], hp, model, record)
    val_acc, hp, model, record = best
    out = {
        "val_top1": val_acc,
        "hparams": hp,
        "best_epoch": record["best_epoch"],
        "test_scores": np.asarray(apply_model(model, jnp.asarray(test.x))),
    }
    if heldout_x is not None:
        out["heldout_embed"] = np.asarray(model_features(model, jnp.asarray(heldout_x)))
    return out


def run_attacker(
    name: str,
    train: Split,
    val: Split,
    test: Split,
    heldout: Split | None = None,
    *,
    seed: int = 0,
    quick: bool = False,
) -> dict:
    """Train attacker `name` from scratch and score it.

    Labels of train/val/test must share one closed set of identities; `heldout` (optional)
    holds other identities for open-set verification. Returns `top1`, `top5`, `val_top1`,
    `hparams`, and `tar@far=...` when `heldout` is given. Measurements are standardised
    with train-split statistics."""
    spec = attack(name, reads="faces")  # ValueError naming the choices
    classes = np.unique(train.y)
    for split_name, s in (("val", val), ("test", test)):
        if not np.isin(s.y, classes).all():
            raise ValueError(f"{split_name}: labels must be identities present in train")
    remap = {c: i for i, c in enumerate(classes)}
    relabel = lambda s: np.array([remap[c] for c in s.y])  # noqa: E731
    xs = _standardise(train.x, val.x, test.x, *([heldout.x] if heldout is not None else []))
    tr, va, te = (
        Split(xs[0], relabel(train)),
        Split(xs[1], relabel(val)),
        Split(xs[2], relabel(test)),
    )
    hx = xs[3] if heldout is not None else None
    t0 = time.perf_counter()
    fit_attack = spec.build()
    options = dict(seed=seed, quick=quick, grid=spec.search_grid(quick))
    if name in CLOSED_FORM:
        raw = lambda s, y: Split(s.x, y)  # noqa: E731  (their own preprocessing, chosen on val)
        res = fit_attack(
            name,
            raw(train, tr.y),
            raw(val, va.y),
            raw(test, te.y),
            heldout.x if heldout is not None else None,
            len(classes),
            **options,
        )
    else:
        res = fit_attack(name, tr, va, te, hx, len(classes), **options)
    scores = res.pop("test_scores")
    embed = res.pop("heldout_embed", None)
    res["top1"] = topk_accuracy(scores, te.y, 1)
    res["top5"] = topk_accuracy(scores, te.y, 5)
    # Counts for the leak rule, which pools the test predictions of every seed.
    res["n_correct"] = int(round(res["top1"] * len(te.y)))
    res["n_test"] = int(len(te.y))
    if heldout is not None:
        ver = verification(embed, heldout.y)
        ver.pop("pairs")
        res.update(ver)
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res


def chance_levels(n_classes: int) -> dict:
    """What an attacker without information scores: top-k = k / C, TAR@FAR = FAR."""
    out = {"top1": 1.0 / n_classes, "top5": min(5, n_classes) / n_classes}
    out.update({f"tar@far={f:g}": f for f in FARS})
    return out


def summarise(values: list[float]) -> dict:
    """Mean ± sample std (ddof=1; 0 for one seed) and the per-seed values."""
    arr = np.asarray(values, np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "values": [float(v) for v in arr]}


def run_attackers(
    splits_by_seed,
    *,
    names=ATTACKERS,
    quick: bool = False,
    progress: bool = False,
) -> dict:
    """Run every attacker for every seed. `splits_by_seed` maps seed -> (train, val, test,
    heldout_or_None). Returns name -> metric -> {mean, std, values}, plus the chosen
    hyper-parameters per seed."""
    from tqdm.auto import tqdm

    per = {n: [] for n in names}
    jobs = [(s, n) for s in splits_by_seed for n in names]
    for seed, n in tqdm(jobs, desc="attackers", disable=not progress, leave=False):
        train, val, test, heldout = splits_by_seed[seed]
        per[n].append(run_attacker(n, train, val, test, heldout, seed=int(seed), quick=quick))
    return {n: aggregate(runs) for n, runs in per.items()}


def aggregate(runs: list[dict]) -> dict:
    """Per-seed results of one attacker -> metric -> {mean, std, values}, the hyper-parameters
    per seed, and `pooled` = {correct, n}: the test predictions of all seeds together."""
    metrics = [k for k in runs[0] if isinstance(runs[0][k], float)]
    out = {k: summarise([r[k] for r in runs]) for k in metrics}
    out["hparams"] = [r.get("hparams") for r in runs]
    out["pooled"] = {
        "correct": int(sum(r["n_correct"] for r in runs)),
        "n": int(sum(r["n_test"] for r in runs)),
    }
    return out
