"""Fixed pattern families, each a `(K, H, W)` float32 array plus a `signed` flag.

Hadamard patterns: row `i` of the natural order is row `i` of the Sylvester matrix H_N,
N = H·W, reshaped row-major to (H, W). Since H_N = H_H ⊗ H_W, that row is the outer product of
1-D Sylvester rows a = i // W (vertical) and b = i % W (horizontal), which is why H and W must
be powers of two. The orderings are permutations of those rows:

- ``natural``: Sylvester order.
- ``sequency``: Walsh order of the flattened N-vector (number of sign changes of the row-major
  pattern, ascending), i.e. the 1-D sequency of H_N.
- ``cake_cutting``: number of constant-sign pieces of the 2-D pattern, ascending
  ((s_v+1)(s_h+1) for 1-D sequencies s_v, s_h); ties by s_v+s_h then natural index.
- ``low_frequency``: JPEG-style zig-zag over the 2-D sequency pair (s_v, s_h).
- ``variance``: descending variance of the Hadamard coefficients over sample frames
  (SPyRiT-style data-driven order); needs ``frames``.

Other families: ``bernoulli`` {0,1}, ``rademacher`` {−1,+1}, ``gaussian`` (N(0,1) scaled per
pattern into [−1, 1]), ``dct`` (2-D DCT-II basis, zig-zag low frequency first, scaled per pattern
to max |value| 1). Signed families are displayed as split pairs by the `Sensor`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .transforms import fwht, is_power_of_two

ORDERS = ("natural", "sequency", "cake_cutting", "low_frequency", "variance")
FAMILIES = tuple(f"hadamard:{o}" for o in ORDERS) + (
    "hadamard",
    "bernoulli",
    "rademacher",
    "gaussian",
    "dct",
)
# "Hadamard" without an order means the 2-D low-frequency order (docs/conventions.md).
DEFAULT_HADAMARD_ORDER = "low_frequency"
_SIGNED = {"bernoulli": False, "rademacher": True, "gaussian": True, "dct": True}


def hadamard_order(name: str) -> str:
    """The row order a Hadamard family name means: `hadamard:<order>` → order, and bare
    `hadamard` → `DEFAULT_HADAMARD_ORDER`."""
    if (
        not isinstance(name, str)
        or name.split(":", 1)[0] != "hadamard"
        or f"hadamard:{name.partition(':')[2] or DEFAULT_HADAMARD_ORDER}" not in FAMILIES
    ):
        raise ValueError(
            f"expected 'hadamard' or 'hadamard:<order>' with an order in {ORDERS}, got {name!r}"
        )
    return name.partition(":")[2] or DEFAULT_HADAMARD_ORDER


def check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_pow2(h: int, w: int) -> None:
    for name, v in (("h", h), ("w", w)):
        if not is_power_of_two(v):
            raise ValueError(
                f"Hadamard patterns need power-of-two sides; {name}={v} is not (h={h}, w={w}). "
                "Zero-pad frames to the next power of two, or use a dense family such as "
                "'dct', 'rademacher' or Sensor.from_patterns"
            )


def resolve_k(h: int, w: int, rate=None, k=None) -> int:
    """Number of patterns from a sampling rate r = K/(H·W) or an explicit K (default: full)."""
    n = h * w
    if rate is not None and k is not None:
        raise ValueError(f"give either rate or k, not both (rate={rate}, k={k})")
    if k is None and rate is None:
        return n
    if k is not None:
        k = check_size("k", k)
    else:
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)):
            raise TypeError(f"rate must be a float in (0, 1], got {type(rate).__name__}")
        if not 0.0 < float(rate) <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        k = max(1, int(round(float(rate) * n)))
    if k > n:
        raise ValueError(f"k must be <= H*W = {n} (h={h}, w={w}), got k={k}")
    return k


def walsh_sequency(n: int) -> np.ndarray:
    """1-D sequency (number of sign changes) of each natural-order Sylvester row of size n."""
    i = np.arange(n, dtype=np.int64)
    bits = max(n.bit_length() - 1, 0)
    rev = np.zeros_like(i)
    for b in range(bits):  # bit reversal
        rev |= ((i >> b) & 1) << (bits - 1 - b)
    seq = rev.copy()  # inverse Gray code of the bit-reversed index
    shift = rev >> 1
    while shift.any():
        seq ^= shift
        shift >>= 1
    return seq


def _zigzag(u: np.ndarray, v: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Zig-zag rank over (u, v): by u+v, alternating direction on odd/even diagonals."""
    d = u + v
    along = np.where(d % 2 == 0, v, u)
    return np.lexsort((base, along, d))


def hadamard_indices(
    h: int, w: int, order: str = DEFAULT_HADAMARD_ORDER, frames=None
) -> np.ndarray:
    """Permutation (N,) of natural Sylvester row indices for `order` (most important first)."""
    h, w = check_size("h", h), check_size("w", w)
    check_pow2(h, w)
    if not isinstance(order, str) or order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    n = h * w
    idx = np.arange(n, dtype=np.int64)
    a, b = idx // w, idx % w
    sv, sh = walsh_sequency(h)[a], walsh_sequency(w)[b]
    if frames is not None and order != "variance":
        raise ValueError(f"frames is only used by order='variance', got order={order!r}")
    if order == "natural":
        perm = idx
    elif order == "sequency":
        perm = np.argsort(walsh_sequency(n), kind="stable")
    elif order == "cake_cutting":
        perm = np.lexsort((idx, sv + sh, (sv + 1) * (sh + 1)))
    elif order == "low_frequency":
        perm = _zigzag(sv, sh, idx)
    else:
        perm = _variance_order(h, w, frames)
    return perm.astype(np.int64)


def _variance_order(h: int, w: int, frames) -> np.ndarray:
    if frames is None:
        raise ValueError(
            "order='variance' needs frames: sample frames of shape (M, H, W), got None"
        )
    f = np.asarray(frames, dtype=np.float64)
    if f.ndim < 2 or f.shape[-2:] != (h, w):
        raise ValueError(f"frames must have shape (..., {h}, {w}), got {f.shape}")
    f = f.reshape(-1, h * w)
    if f.shape[0] < 2:
        raise ValueError(f"order='variance' needs at least 2 frames, got {f.shape[0]}")
    if not np.all(np.isfinite(f)):
        raise ValueError("frames for order='variance' contain NaN or inf")
    coeffs = np.asarray(fwht(f.astype(np.float32)), np.float64)
    var = coeffs.var(axis=0)
    return np.lexsort((np.arange(h * w), -var))


def hadamard_rows(h: int, w: int, rows) -> np.ndarray:
    """The ±1 patterns (len(rows), H, W) for natural Sylvester row indices `rows`."""
    check_pow2(h, w)
    return np.asarray(hadamard_patterns(h, w, np.asarray(rows, dtype=np.int32)))


def hadamard_patterns(h: int, w: int, rows):
    """±1 patterns (K, H, W) float32 of natural Sylvester rows; traceable (`rows` may be a
    tracer), so learned row selection and fixed patterns share one construction."""
    import jax.numpy as jnp

    hv = jnp.asarray(scipy.linalg.hadamard(h), jnp.float32)
    hw = jnp.asarray(scipy.linalg.hadamard(w), jnp.float32)
    return hv[rows // w][:, :, None] * hw[rows % w][:, None, :]


def hadamard(
    h: int, w: int, k: int | None = None, order: str = DEFAULT_HADAMARD_ORDER, frames=None
) -> np.ndarray:
    """Signed ±1 Hadamard patterns (K, H, W), the first K rows of `order`."""
    k = resolve_k(check_size("h", h), check_size("w", w), None, k)
    return hadamard_rows(h, w, hadamard_indices(h, w, order, frames)[:k])


def dct_patterns(h: int, w: int, k: int | None = None) -> np.ndarray:
    """2-D DCT-II basis images, zig-zag low frequency first, each scaled to max |value| 1."""
    h, w = check_size("h", h), check_size("w", w)
    k = resolve_k(h, w, None, k)
    cv = np.cos(np.pi * (np.arange(h)[None, :] + 0.5) * np.arange(h)[:, None] / h)
    ch = np.cos(np.pi * (np.arange(w)[None, :] + 0.5) * np.arange(w)[:, None] / w)
    idx = np.arange(h * w)
    u, v = idx // w, idx % w
    sel = _zigzag(u, v, idx)[:k]
    p = cv[u[sel]][:, :, None] * ch[v[sel]][:, None, :]
    p /= np.abs(p).max(axis=(1, 2), keepdims=True)
    return p.astype(np.float32)


def pattern_family(
    name: str, h: int, w: int, k: int | None = None, *, seed: int = 0, frames=None
) -> tuple[np.ndarray, bool]:
    """Patterns (K, H, W) float32 and whether they are signed, for a family in `FAMILIES`."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ValueError(f"family name must be one of {FAMILIES}, got {name!r}")
    h, w = check_size("h", h), check_size("w", w)
    k = resolve_k(h, w, None, k)
    if name.startswith("hadamard"):
        return hadamard(h, w, k, hadamard_order(name), frames), True
    if frames is not None:
        raise ValueError(f"frames is only used by 'hadamard:variance', got family {name!r}")
    rng = np.random.default_rng(seed)
    if name == "bernoulli":
        p = rng.integers(0, 2, size=(k, h, w)).astype(np.float32)
    elif name == "rademacher":
        p = (2 * rng.integers(0, 2, size=(k, h, w)) - 1).astype(np.float32)
    elif name == "gaussian":
        g = rng.standard_normal((k, h, w))
        p = (g / np.abs(g).max(axis=(1, 2), keepdims=True)).astype(np.float32)
    else:
        p = dct_patterns(h, w, k)
    return p, _SIGNED[name]


# -- Names of designs (reports, audits, figure titles) ----------------------------------------

HADAMARD_DEFAULT = f"hadamard:{DEFAULT_HADAMARD_ORDER}"  # "Hadamard" alone: the 2-D order
_ORDER_WORDS = {
    "low_frequency": "2-D low-frequency order",
    "sequency": "1-D sequency order",
    "cake_cutting": "cake-cutting order",
    "natural": "natural order",
    "variance": "variance order",
}


def canonical_family(name: str) -> str:
    """`hadamard` alone means the 2-D low-frequency order (`hadamard:low_frequency`); any other
    name is returned unchanged."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"family: expected a family name, got {name!r}")
    return HADAMARD_DEFAULT if name == "hadamard" else name


def sensor_label(desc: dict) -> str:
    """A title naming the design and, for Hadamard patterns, the order."""
    fam = desc.get("family") or desc.get("kind") or "sensor"
    order = desc.get("order")
    if desc.get("kind") == "learned":
        base = f"learned ({desc.get('parameterization')}, init {fam})"
    else:
        base = fam.split(":", 1)[0] if order else fam
    if order:
        base += f", {_ORDER_WORDS.get(order, order + ' order')}"
    elif fam == "hadamard:rows":
        base += ", given rows"
    elif fam == "dct":
        base += ", zig-zag order"
    return base
