"""Building an SP-VLM run from its config: the sensor, the modules (in a fixed order, since
they draw their initial weights from one `nnx.Rngs(cfg.seed)` stream) and the optimisers.

`validate_spvlm_config` turns impossible settings into errors before any compute is spent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from flax import nnx

from spjax.privacy.terms import PRIVACY_TERMS
from spjax.training import keys, optim
from spjax.training.config import ConfigDict
from spjax.training.steps import MAIN, Trainable


def build_sensor(cfg: ConfigDict, rngs: nnx.Rngs):
    """The run's sensor: learned patterns (`sensor.family = "learned"`) or a fixed family;
    with `sensor.identity_null = M`, kept out of the M most identifying directions."""
    from spjax.sensing import NoiseModel, Sensor

    s, d = cfg.sensor, cfg.data
    noise = None
    if s.photons > 0:
        noise = NoiseModel(
            photons=s.photons, dark=s.dark, read_std=s.read_std, adc_bits=s.adc_bits or None
        )
    init = s.init if s.init != "hadamard" else f"hadamard:{s.order}"
    if s.family == "learned" and not s.identity_null:
        return Sensor.learned(
            d.size,
            d.size,
            s.rate,
            parameterization=s.parameterization,
            init=init,
            split=s.split,
            noise=noise,
            timing=s.timing,
            rngs=rngs,
        )
    # Identity-null learned patterns start from the init family.
    sensor = Sensor.family(
        init if s.family == "learned" else s.family,
        d.size,
        d.size,
        s.rate,
        split=s.split,
        noise=noise,
        timing=s.timing,
        seed=cfg.seed,
    )
    if not s.identity_null:
        return sensor
    from spjax.sensing.identity_null import identity_null_sensor

    basis, base = identity_null_basis(cfg), np.asarray(sensor.patterns())
    if s.family == "learned":
        return identity_null_sensor(
            basis, s.identity_null, base, split=s.split, noise=noise, timing=s.timing
        )
    return Sensor.from_patterns(
        basis.remove(base, s.identity_null), split=s.split, noise=noise, timing=s.timing
    )


# Identity-null designs estimate who-differs-from-whom on procedural people far from the ones
# a run trains against (ids 0 … data.n_identities − 1) and is audited on (the ids after them).
IDENTITY_NULL_OFFSET = 100_000
IDENTITY_NULL_FACES_PER_IDENTITY = 8


def identity_null_basis(cfg: ConfigDict):
    """The `IdentityBasis` of `sensor.identity_null_identities` procedural people of the run's
    world (identity ids from IDENTITY_NULL_OFFSET), 8 views each through `privacy.channel`."""
    from spjax.sensing.identity_null import IdentityBasis
    from spjax.training.data import identity_views

    views = identity_views(
        cfg,
        cfg.sensor.identity_null_identities,
        IDENTITY_NULL_FACES_PER_IDENTITY,
        offset=IDENTITY_NULL_OFFSET,
        seed=cfg.seed,
    )
    return IdentityBasis.estimate(views["image"], views["identity"])


def build_modules(cfg: ConfigDict, decoder, tokenizer, n_identities: int):
    """(Trainable(spvlm, adversaries), main optimiser, adversary optimiser)."""
    from spjax.models.encoder import TemporalEncoder
    from spjax.models.heads import LabelHeads
    from spjax.models.spvlm import SPVLM, concept_ids
    from spjax.privacy.terms import AdversaryEnsemble

    rngs = nnx.Rngs(cfg.seed)
    sensor = build_sensor(cfg, rngs)
    e, dim = cfg.encoder, decoder.config.dim
    encoder = TemporalEncoder(
        cfg.data.size,
        cfg.data.size,
        max_frames=cfg.data.frames,
        out_dim=dim,
        channels=e.channels,
        token_width=e.width,
        depth=e.depth,
        heads=e.heads,
        num_queries=e.num_queries,
        grid=e.grid,
        # Runs saved before the switch existed had the summary on.
        summary=e.get("clip_summary", True),
        rngs=rngs,
    )
    heads = LabelHeads(e.num_queries, dim, cfg.data.max_people, rngs=rngs)
    adversaries = AdversaryEnsemble.build(
        tuple(cfg.privacy.adversaries), sensor.k, n_identities, rngs=rngs
    )
    concepts = concept_ids(tokenizer) if e.concept_tokens != "off" else None
    spvlm = SPVLM(
        sensor,
        encoder,
        decoder,
        heads,
        concepts,
        concept_mode="hard" if concepts is None else e.concept_tokens,
    )
    bundle = Trainable(spvlm, adversaries)
    opt_main = nnx.Optimizer(bundle, main_tx(cfg, sensor.learnable), wrt=MAIN)
    opt_adv = nnx.Optimizer(adversaries, adversary_tx(cfg), wrt=nnx.Param)
    return bundle, opt_main, opt_adv


def main_tx(cfg: ConfigDict, learnable_sensor: bool):
    """One schedule per part (encoder, heads, and the sensor at its own rate if it learns)."""
    o, steps = cfg.optim, cfg.train.steps
    common = dict(
        total_steps=steps,
        warmup_steps=o.warmup_steps,
        weight_decay=o.weight_decay,
        clip_norm=o.clip_norm,
        name=o.name,
    )
    parts = {
        "encoder": optim.make_optimizer(o.lr, **common),
        "heads": optim.make_optimizer(o.lr, **common),
    }
    if learnable_sensor:
        parts["sensor"] = optim.make_optimizer(o.sensor_lr, **common)
    return optim.per_part(parts, level=1)


def adversary_tx(cfg: ConfigDict):
    o = cfg.optim
    return optim.make_optimizer(
        o.adversary_lr, total_steps=cfg.train.steps, clip_norm=o.clip_norm, name=o.name
    )


def validate_spvlm_config(cfg: ConfigDict) -> None:
    """Impossible settings are errors before any compute is spent."""
    s, d = cfg.sensor, cfg.data
    n = d.size * d.size
    k = int(round(s.rate * n))
    if not 0 < s.rate <= 1 or k < 1:
        raise ValueError(
            f"sensor.rate must give 1 ≤ K ≤ H·W={n} patterns, got rate={s.rate} (K={k})"
        )
    if cfg.privacy.term not in PRIVACY_TERMS:
        raise ValueError(f"privacy.term must be one of {PRIVACY_TERMS}, got {cfg.privacy.term!r}")
    if cfg.privacy.weight < 0:
        raise ValueError(f"privacy.weight must be ≥ 0, got {cfg.privacy.weight}")
    if not cfg.privacy.adversaries:
        raise ValueError("privacy.adversaries must name at least one adversary")
    from spjax.training.data import IDENTITY_CHANNELS

    channel = cfg.privacy.get("channel", "faces")
    if channel not in IDENTITY_CHANNELS:
        raise ValueError(f"privacy.channel must be one of {IDENTITY_CHANNELS}, got {channel!r}")
    if channel == "room" and d.source != "synthetic":
        raise ValueError(
            "privacy.channel='room' renders room views and needs data.source='synthetic'"
        )
    if s.identity_null:
        if d.source != "synthetic":
            raise ValueError(
                "sensor.identity_null estimates the identity directions from the world's "
                "procedural faces and needs data.source='synthetic'"
            )
        if not 0 < s.identity_null < s.identity_null_identities:
            raise ValueError(
                f"sensor.identity_null must be in [0, sensor.identity_null_identities="
                f"{s.identity_null_identities}) directions, got {s.identity_null}"
            )
    if s.temperature_start <= 0 or s.temperature_end <= 0:
        raise ValueError("sensor.temperature_start/end must be > 0")
    if not 1 <= cfg.train.steps < keys.STEP_LIMIT:
        raise ValueError(f"train.steps must be in [1, {keys.STEP_LIMIT}), got {cfg.train.steps}")
    if not 0 <= cfg.train.label_steps <= cfg.train.steps:
        raise ValueError(
            f"train.label_steps must be in [0, train.steps={cfg.train.steps}], got "
            f"{cfg.train.label_steps}"
        )
    weights = [float(w) for w in cfg.train.qtype_weights]
    if len(weights) != 4 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(
            f"train.qtype_weights must be 4 non-negative weights (count, anomaly, "
            f"activity, describe) with a positive sum, got {tuple(weights)}"
        )
    if cfg.encoder.concept_tokens not in ("hard", "soft", "off"):
        raise ValueError(
            f"encoder.concept_tokens must be 'hard', 'soft' or 'off', got "
            f"{cfg.encoder.concept_tokens!r}"
        )
    if d.source not in ("synthetic", "tfds"):
        raise ValueError(f"data.source must be 'synthetic' or 'tfds', got {d.source!r}")
    if d.source == "tfds" and not Path(d.data_dir).is_dir():
        raise FileNotFoundError(
            f"data.data_dir {d.data_dir!r} does not exist; prepare the "
            f"datasets first with `spjax data prepare`"
        )
