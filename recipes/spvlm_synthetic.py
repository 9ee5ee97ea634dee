"""The embedded default main job.

Learned signed-binary patterns (realised as split ± pairs on a DMD) at r = 5 % of 64×64
(K = 205), a temporal encoder that lifts the measurements back to images with the sensor's own
pseudo-inverse and turns them into prefix tokens for the frozen tiny decoder (pretrained first
by `pretrain_decoder_tiny.py` and cached), and a privacy term that keeps the face measurements
at the sensor-noise floor (`face_capacity`: their Gaussian-channel capacity, from two noisy
shots). Trains in two stages (label heads, then answers through the decoder), evaluates on the
test split, and writes `report.json` and `figures/`.

    spjax train recipes/spvlm_synthetic.py --workdir runs/default
"""

import ml_collections

from spjax.data.scenes import SceneConfig, world_settings


def get_config():
    c = ml_collections.ConfigDict()
    c.task = "spvlm"
    c.seed = 0
    # The world (spjax.data.scenes.SceneConfig, the one definition of its settings and
    # defaults): 64×64 clips of 16 frames, 0–4 people, 40 % anomalies (fall, fight, loiter).
    # Training clips are rendered on the fly (a fresh batch every step); val/test are fixed
    # splits of the same world with their own clip seeds.
    world = SceneConfig(size=64, anomaly_fraction=0.4)
    c.data = dict(
        source="synthetic",
        **world_settings(world, seed="world_seed"),
        n_val=200,
        n_test=1000,
        faces_per_identity=40,
        # data.source="tfds": builders prepared under data_dir by `spjax data prepare`,
        # with the same `k=v,k=v` builder config given to `prepare --config`
        # (n_train: how many of its training clips to use)
        n_train=8000,
        data_dir="",
        scenes="spjax_scenes",
        faces="spjax_faces",
        scenes_config="",
        faces_config="",
    )
    # r = 5 % of 64×64: K = 205 signed patterns (410 DMD frames, split ±). photons: counts of a
    # fully-on pattern on a full-scale scene: ~1e6 for a 200-lux room seen through an f/2 lens
    # onto 64×64 mirrors of 10.8 µm at a 10 kHz pattern rate (1e5 is a dim room).
    c.sensor = dict(
        family="learned",
        parameterization="signed_binary",
        init="hadamard",
        order="low_frequency",
        rate=0.05,
        split=True,
        timing="frame",
        photons=1.0e6,
        dark=0.0,
        read_std=0.0,
        adc_bits=0,
        temperature_start=1.0,
        temperature_end=0.05,
        # identity_null: with a fixed family, remove this many directions in which people
        # differ most (relative to one person's variation) from its patterns, estimated on
        # identity_null_identities procedural people a run never trains or is audited on
        # (spjax.sensing.identity_null); 0 = off.
        identity_null=0,
        identity_null_identities=2000,
    )
    # Lift (the sensor's pseudo-inverse) → per-pixel temporal MLP → conv trunk on a 16² grid
    # → 64 spatial tokens (width 128) → 8 learned queries → prefix (decoder width), followed
    # by concept tokens: the label heads' decisions spoken as the decoder's own word
    # embeddings (count, anomaly type, activities; see spjax.models.spvlm.SPVLM);
    # concept_tokens: "hard" (the decisions) | "soft" (probability-weighted) | "off".
    # clip_summary: add the mean+max of the spatial tokens to every query (without it the
    # label loss sits on the prior plateau for ~1000 steps; see RESULTS.md).
    c.encoder = dict(
        channels=48,
        width=128,
        depth=1,
        heads=4,
        num_queries=8,
        grid=16,
        concept_tokens="hard",
        clip_summary=True,
    )
    # source: "tiny" (pretrained by `recipe`, cached under cache_dir) or a name/path that
    # spjax.models.registry.load_decoder understands (e.g. "smollm2-135m").
    c.decoder = dict(
        source="tiny", recipe="recipes/pretrain_decoder_tiny.py", cache_dir=".cache/decoders"
    )
    # Label heads (count, anomaly type, activities) on the prefix: the whole loss for the
    # first train.label_steps steps, then weighted by aux.weight beside the answer loss;
    # person_weight: the per-person activity head's term within it (0 = not trained).
    c.aux = dict(weight=1.0, person_weight=1.0)
    # privacy.term: adversarial "neg_ce" | "neg_entropy" | "kl_uniform" (against the worst
    # training adversary), or attacker-free "face_snr" (log of the mean face-variation/noise
    # ratio of the face measurements, from two independently-noised shots) / "face_capacity"
    # (their Gaussian-channel capacity, nats per measurement) / "identity_capacity" (what one
    # shot tells about who it is: ½ log det of total over within-identity covariance, per
    # measurement); with these the adversaries are only trained and logged for monitoring.
    # privacy.channel: the identity views every privacy term and adversary (and an
    # identity_null basis) work on: "faces" (frame-filling posed faces, T2's channel) or
    # "room" (people as the room sensor sees them: frames of single-person clips of the
    # world's people, T3's channel).
    c.privacy = dict(
        channel="faces",
        weight=4.0,
        term="face_capacity",
        warmup_steps=300,
        adversaries=("linear", "mlp", "mlp"),
        adversary_steps=1,
        restart_every=400,
        face_batch_size=64,
    )
    c.optim = dict(
        name="adamw",
        lr=2e-3,
        sensor_lr=2e-2,
        adversary_lr=2e-3,
        warmup_steps=100,
        weight_decay=1e-4,
        clip_norm=1.0,
    )
    # qtype_weights: how often a step asks (count, anomaly, activity, describe) questions.
    c.train = dict(
        steps=2000,
        label_steps=1000,
        batch_size=32,
        qtype_weights=(0.3, 0.3, 0.15, 0.25),
        log_every=25,
        eval_every=500,
        checkpoint_every=250,
        keep_checkpoints=3,
    )
    c.eval = dict(
        max_new_tokens=0,  # 0: as many as the longest reference answer needs
        describe_beams=1,
        batch_size=100,
        samples_to_log=2,
        # t3_quick: end every run with a quick T3 audit of its own frozen sensor
        # (re-identification of unseen people in the room stream; report.json privacy.t3_quick)
        t3_quick=True,
    )
    c.run = dict(wandb="disabled")
    return c
