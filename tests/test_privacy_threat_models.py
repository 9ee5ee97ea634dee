"""The three threat models side by side: T3 (room re-identification across clips, closed set
and linkage on unseen people, calibrated on clean frames) finds a planted identity channel and
reads a constant sensor as chance; the audit reports T1, T2 and T3 together."""

import numpy as np
import pytest

from spjax.privacy.scene_reid import SceneClips, closed_set, scene_config, scene_reid


def _clips(size=16, identities=5):
    return SceneClips(
        scene_config(size, identities=identities),
        n_train=200,
        n_val=60,
        n_test=150,
        n_link=100,
        link_config=scene_config(size, identities=identities, identity_offset=identities),
        keep=True,
    )


def test_t3_finds_a_planted_identity_channel():
    from spjax.sensing import Sensor

    rep = scene_reid(
        Sensor.hadamard(16, 16, 1.0),
        identities=10,
        quick=True,
        clips=_clips(identities=10),
        attackers=("ridge:stats", "lda:stats"),
    )
    best = rep["best"]
    assert best["top1"] >= 2 * rep["chance"]
    for m in rep["attackers"].values():
        lo, hi = m["top1_ci95"]
        assert lo <= m["top1"] <= hi
        assert m["cmc"][0] == pytest.approx(m["top1"]) and np.all(np.diff(m["cmc"]) >= 0)
        assert m["cmc"][-1] == pytest.approx(1.0)  # 10 people: rank 10 always holds the truth
    # Linkage of people never trained on: better than coin flipping.
    assert best["linkage"]["auc"] > 0.55
    assert not rep["target"]["met"]


@pytest.mark.slow  # every attacker twice (sensor and clean ceiling): ~3 min on 2 cores
def test_t3_calibrated_with_every_attacker():
    from spjax.sensing import Sensor

    rep = scene_reid(
        Sensor.hadamard(16, 16, 1.0),
        identities=10,
        quick=True,
        clips=_clips(identities=10),
        calibrate=True,
    )
    assert set(rep["attackers"]) == {"ridge:stats", "lda:stats", "temporal", "crop:lift"}
    assert rep["best"]["top1"] >= 2 * rep["chance"]
    assert rep["attacker_strength"] == rep["ceiling"]["best"]["top1"] >= 2 * rep["chance"]
    assert set(rep["ceiling"]["attackers"]) == set(rep["attackers"])


def test_t3_reads_a_constant_sensor_as_chance():
    from spjax.sensing import NoiseModel, Sensor

    sensor = Sensor.from_patterns(
        np.zeros((8, 16, 16), np.float32), noise=NoiseModel(1e3, dark=20.0)
    )
    rep = scene_reid(
        sensor, identities=5, quick=True, clips=_clips(), attackers=("lda:stats", "crop:lift")
    )
    n = rep["setup"]["n_test"]
    for m in rep["attackers"].values():  # within 4 binomial sigmas of chance
        assert m["top1"] <= 0.2 + 4 * np.sqrt(0.16 / n)
        assert abs(m["linkage"]["auc"] - 0.5) < 0.1
    assert rep["best"]["ratio_to_chance"] <= 1.5 + 4 * np.sqrt(0.16 / n) / 0.2


def test_kept_clips_replay_the_same_chunks_once():
    clips = SceneClips(scene_config(16, identities=3), n_train=12, n_val=3, n_test=3, keep=True)
    first = list(clips.chunks("train"))
    second = list(clips.chunks("train"))
    assert len(second) == len(first) == 1
    np.testing.assert_array_equal(second[0][1], first[0][1])
    np.testing.assert_allclose(second[0][0], first[0][0], atol=1e-3)  # stored as float16


def test_closed_set_scores_and_interval():
    scores = np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 3.0, 0.0], [3.0, 1.0, 0.0]])
    out = closed_set(scores, np.array([0, 1, 1, 2]), chance=1 / 3)
    assert out["top1"] == 0.5 and out["pooled"] == {"correct": 2, "n": 4}
    assert out["cmc"] == [0.5, 0.75, 1.0]
    lo, hi = out["top1_ci95"]
    assert 0 < lo < 0.5 < hi < 1
    assert out["ratio_to_chance"] == pytest.approx(1.5)


def test_scene_reid_refuses_bad_settings():
    from spjax.sensing import Sensor

    s = Sensor.hadamard(16, 16, 0.1)
    with pytest.raises(ValueError, match="link_identities"):
        scene_reid(s, identities=5, link_identities=1)
    with pytest.raises(ValueError, match="link_config"):
        SceneClips(scene_config(16, identities=5), n_train=10, n_val=10, n_test=10, n_link=5)


def _small_audit(sensor, **kw):
    """A one-seed quick audit of 16×16 faces (LDA, reconstruction attack; no dlib)."""
    from spjax.privacy.audit import privacy_audit

    opts = dict(
        size=16,
        identities=6,
        per_identity=10,
        seeds=(0,),
        quick=True,
        attackers=("lda",),
        conv=False,
        reconstruction=True,
        recognizer=False,
        calibrate=False,
        scenes=False,
    )
    return privacy_audit(sensor, **{**opts, **kw})


def test_audit_reports_three_threat_models():
    from spjax.privacy.audit import format_summary
    from spjax.sensing import Sensor

    rep = _small_audit(
        Sensor.hadamard(16, 16, 0.25),
        scenes=True,
        scene=dict(
            identities=5,
            n_train=300,
            n_val=100,
            n_test=200,
            n_link=120,
            attackers=("lda:stats",),
        ),
    )
    tm = rep["threat_models"]
    assert set(tm) == {"T1", "T2", "T3"}
    assert set(tm["T1"]["attacks"]) == {f"reconstruction:{m}" for m in ("pinv", "tikhonov", "unet")}
    assert tm["T2"]["ratio_to_chance"] == pytest.approx(rep["worst_case"]["ratio_to_chance"])
    assert tm["T3"]["identities"] == 5 and tm["T3"]["linkage_auc"] is not None
    text = format_summary(rep)
    assert "T1 (" in text and "T2 (" in text and "T3 (" in text


def test_room_channel_gives_labelled_room_views_for_training_and_identity_null():
    from test_training import tiny_overrides

    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.data import build_eval_sets, identity_views

    cfg = apply_overrides(
        load_recipe("recipes/spvlm_synthetic.py"),
        tiny_overrides("recipes/pretrain_decoder_tiny.py", "/tmp/unused")
        + ["privacy.channel=room"],
    )
    _, _, views = build_eval_sets(cfg)
    train = views["train"]
    assert train.image.shape[1:] == (16, 16)
    assert set(np.unique(train.identity)) == set(range(8))  # the run's own people, ids 0 … 7
    other = identity_views(cfg, 4, 4, offset=100_000, seed=0)
    assert other["identity"].min() >= 100_000 and len(other["image"]) == 16
    with pytest.raises(ValueError, match="privacy.channel"):
        from spjax.training.build import validate_spvlm_config

        validate_spvlm_config(apply_overrides(cfg, ["privacy.channel=ceiling"]))


def test_person_frames_pick_frames_where_the_person_is_seen():
    from spjax.data.scenes import SceneConfig, person_frames, single_person_world

    world = single_person_world(SceneConfig(size=32, frames=8), identities=5)
    out = person_frames(world, 10, per_clip=2, seed=3)
    assert out["image"].shape == (20, 32, 32) and out["identity"].shape == (20,)
    assert set(out["identity"]) <= set(range(5))
    with pytest.raises(ValueError, match="single-person"):
        person_frames(SceneConfig(size=32, frames=8), 2)


def test_t1_finds_a_planted_channel_and_reads_a_constant_sensor_as_chance():
    from spjax.sensing import NoiseModel, Sensor

    def t1(sensor):
        return _small_audit(sensor)["threat_models"]["T1"]

    full = t1(Sensor.hadamard(16, 16, 1.0))
    assert not full["at_chance"] and full["ratio_to_chance"] >= 2
    constant = t1(
        Sensor.from_patterns(np.zeros((8, 16, 16), np.float32), noise=NoiseModel(1e3, dark=20.0))
    )
    assert constant["at_chance"]


@pytest.fixture(scope="module")
def tiny_decoder(tmp_path_factory):
    from test_training import TINY_DECODER

    base = tmp_path_factory.mktemp("tiny_room")
    recipe = base / "decoder_recipe.py"
    recipe.write_text(TINY_DECODER)
    return str(recipe), str(base / "cache")


@pytest.mark.slow
def test_identity_term_on_the_room_channel_trains_the_patterns(tiny_decoder, tmp_path):
    """End to end: the attacker-free identity term fed with room views of the training
    people reaches the learned patterns (its gradient alone moves them) and the report names
    the channel and the term."""
    import jax
    from flax import nnx
    from test_training import tiny_overrides

    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.trainer import SPVLMTrainer

    def trained_patterns(weight, workdir):
        cfg = apply_overrides(
            load_recipe("recipes/spvlm_synthetic.py"),
            tiny_overrides(*tiny_decoder)
            + [
                "privacy.channel=room",
                "privacy.term=identity_capacity",
                f"privacy.weight={weight}",
                "train.steps=3",
            ],
        )
        trainer = SPVLMTrainer(cfg, workdir)
        metrics = trainer.train()
        assert np.isfinite(metrics["task_loss"]) and np.isfinite(metrics["privacy_loss"])
        return [np.array(x) for x in jax.tree.leaves(nnx.state(trainer.model().sensor, nnx.Param))]

    with_term = trained_patterns(50.0, tmp_path / "a")
    without = trained_patterns(0.0, tmp_path / "b")
    assert any(not np.allclose(a, b) for a, b in zip(with_term, without)), (
        "the room-channel identity term must change the learned patterns"
    )
