import numpy as np
import pytest

from spjax.data import layout as L
from spjax.data import people as P
from spjax.data import scenes as S
from spjax.data.scene_plan import plan_clips
from spjax.data.scenes import ACTIVITIES, ANOMALY_TYPES, SceneConfig, generate_scenes

CLEAN = dict(noise_std=0.0, lighting=False)


def _background(cfg, d, i):
    return L.render_room(cfg.seed, int(d["layout"][i]), cfg.size)


def test_shapes_and_determinism():
    cfg = SceneConfig()
    a = generate_scenes(cfg, 6, seed=3)
    b = generate_scenes(cfg, 6, seed=3)
    assert a["frames"].shape == (6, 16, 32, 32) and a["frames"].dtype == np.float32
    assert 0 <= a["frames"].min() and a["frames"].max() <= 1
    for k in (
        "frames",
        "count",
        "count_per_frame",
        "anomaly_type",
        "identities",
        "activity",
        "event_span",
    ):
        assert a[k].tobytes() == b[k].tobytes(), k
    assert a["captions"] == b["captions"] and a["qa"] == b["qa"]
    c = generate_scenes(cfg, 6, seed=4)
    assert not np.array_equal(a["frames"], c["frames"])
    assert len(a["captions"][0]) == 3 and {q[0] for q in a["qa"][0]} >= {
        "count",
        "anomaly",
        "describe",
    }


def test_64_pixels_and_chunking_do_not_change_content():
    cfg = SceneConfig(size=64, frames=8)
    a = generate_scenes(cfg, 5, seed=1, chunk=2, text=False)
    assert a["frames"].shape == (5, 8, 64, 64)


def test_labels_are_consistent():
    cfg = SceneConfig(anomaly_fraction=0.5)
    d = generate_scenes(cfg, 200, seed=0, text=False)
    present = d["identities"] >= 0
    np.testing.assert_array_equal(present.sum(1), d["count"])
    np.testing.assert_array_equal(d["visible"].sum(1), d["count_per_frame"])
    assert (d["count_per_frame"].max(1) <= d["count"]).all()
    assert ((d["activity"] > 0) == present).all()
    assert (d["anomaly"] == (d["anomaly_type"] > 0)).all()
    assert ((d["event_span"][:, 0] >= 0) == (d["anomaly"] == 1)).all()
    for row, n in zip(d["identities"], d["count"]):  # distinct identities within a clip
        assert len(set(row[:n])) == n
    assert 0.35 < d["anomaly"].mean() < 0.65  # the configured ratio
    assert d["count"].min() == 0 and d["count"].max() == 4


def test_rendered_people_count_equals_label():
    cfg = SceneConfig(**CLEAN, anomaly_fraction=0.3)
    d = generate_scenes(cfg, 60, seed=2, text=False)
    # Every visible person covers pixels inside the frame; hidden/absent ones none.
    assert ((d["drawn_pixels"] > 0) == d["visible"]).all()
    np.testing.assert_array_equal((d["drawn_pixels"] > 0).sum(1), d["count_per_frame"])
    # Independently of the renderer's bookkeeping: frames differ from the empty room exactly
    # when someone is there, and removing one person from the plan changes exactly the frames
    # in which that person is labelled visible.
    for i in range(len(d["count"])):
        bg = _background(cfg, d, i)
        changed = (np.abs(d["frames"][i] - bg) > 0.02).any(axis=(1, 2))
        np.testing.assert_array_equal(changed, d["count_per_frame"][i] > 0)
    plan = plan_clips(cfg, 30, np.random.default_rng(0))
    full = np.empty((30, cfg.frames, cfg.size, cfg.size), np.float32)
    S._composite(cfg, plan, np.random.default_rng(1), full)
    rendered = np.zeros((30, cfg.frames), int)
    for p in range(cfg.max_people):
        less = {**plan, "visible": plan["visible"].copy()}
        less["visible"][:, p] = False
        part = np.empty_like(full)
        S._composite(cfg, less, np.random.default_rng(1), part)
        differs = (np.abs(full - part) > 1e-3).any(axis=(2, 3))
        np.testing.assert_array_equal(differs, plan["visible"][:, p])
        rendered += differs
    np.testing.assert_array_equal(rendered, plan["visible"].sum(1))


def test_fall_clip_ends_with_a_lying_still_person():
    cfg = SceneConfig(
        **CLEAN, anomaly_fraction=1.0, anomaly_types=("fall",), max_people=1, min_people=1
    )
    d = generate_scenes(cfg, 20, seed=0)
    assert (d["anomaly_type"] == ANOMALY_TYPES.index("fall")).all()
    assert (d["activity"][:, 0] == ACTIVITIES.index("fallen")).all()
    for i in range(20):
        start = d["event_span"][i, 0]
        assert 0 < start < cfg.frames - 3
        assert np.isin(d["pose"][i, 0, -3:], P.LYING).all()
        assert not np.isin(d["pose"][i, 0, :start], P.LYING).any()
        np.testing.assert_array_equal(
            d["positions"][i, 0, start:], d["positions"][i, 0, -1:].repeat(cfg.frames - start, 0)
        )
        # In pixels: still over the last frames, upright (tall) at the start, lying (wide) at the end.
        assert np.array_equal(d["frames"][i, -1], d["frames"][i, -2])
        bg = _background(cfg, d, i)

        def extent(frame, bg=bg):
            ys, xs = np.nonzero(np.abs(frame - bg) > 0.02)
            return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1

        h0, w0 = extent(d["frames"][i, 0])
        h1, w1 = extent(d["frames"][i, -1])
        assert h0 > w0 and w1 > h1, (i, (h0, w0), (h1, w1))
        assert "fall" in " ".join(d["captions"][i]) or "lying" in " ".join(d["captions"][i])


def test_fight_and_loiter_and_crowding_labels():
    cfg = SceneConfig(
        anomaly_fraction=1.0, anomaly_types=("fight", "loiter", "crowding"), min_people=1
    )
    d = generate_scenes(cfg, 90, seed=1, text=False)
    for i in range(90):
        name = ANOMALY_TYPES[d["anomaly_type"][i]]
        s, e = d["event_span"][i]
        pos = d["positions"][i]
        if name == "fight":
            assert d["count"][i] >= 2
            gap = np.abs(pos[0, s + 1 :, 0] - pos[1, s + 1 :, 0])
            assert (gap < 0.25).all()  # close together during the episode
            assert len(set(d["pose"][i, 0, s : s + 4])) == 4  # fast repeated contact
            assert ACTIVITIES[d["activity"][i, 1]] == "being pushed"
        elif name == "loiter":
            assert (s, e) == (0, cfg.frames - 1)
            # Pacing: stays within a short stretch of floor, turning back at least once,
            # walking (never the still "stand" pose) the whole clip.
            x = pos[0, :, 0]
            assert np.ptp(pos[0, :, 1]) == 0 and 0.04 < np.ptp(x) < 0.25
            steps = np.sign(np.diff(x))
            assert (steps[steps != 0][1:] != steps[steps != 0][:-1]).any()
            assert (d["pose"][i, 0] != P.POSE["stand"]).all()
        else:
            assert d["count"][i] == cfg.max_people
            centre = pos[:, 0].mean(0)
            assert np.abs(pos[:, 0] - centre).max() < 0.25
    assert set(ANOMALY_TYPES[t] for t in d["anomaly_type"]) == {"fight", "loiter", "crowding"}


def test_people_at_the_sink_stand_apart():
    cfg = SceneConfig(anomaly_fraction=0.0, min_people=4, max_people=4)
    d = generate_scenes(cfg, 300, seed=2, text=False)
    wash = d["activity"] == ACTIVITIES.index("washing hands")
    for i in np.flatnonzero(wash.sum(1) >= 2):
        feet = d["positions"][i][wash[i], 0]  # (n, 2) at the first frame
        gaps = np.linalg.norm(feet[:, None] - feet[None], axis=-1)[np.triu_indices(len(feet), 1)]
        assert gaps.min() > 0.08, i


def test_normal_standing_is_shorter_than_loitering():
    cfg = SceneConfig(anomaly_fraction=0.0)
    d = generate_scenes(cfg, 200, seed=5, text=False)
    still = np.all(np.diff(d["positions"], axis=2) == 0, axis=(2, 3))
    stand_all = (d["pose"] == P.POSE["stand"]).all(-1)
    assert not (still & stand_all & (d["activity"] > 0)).any()


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(frames=2), "frames"),
        (dict(size=8), "size"),
        (dict(max_people=7), "max_people"),
        (dict(anomaly_types=("explosion",)), "anomaly_types"),
        (dict(anomaly_fraction=1.5), "anomaly_fraction"),
        (dict(anomaly_types=("fight",), max_people=1, min_people=0), "max_people"),
    ],
)
def test_config_errors_name_the_field(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SceneConfig(**kwargs)


def test_from_dict_names_unknown_key():
    with pytest.raises(ValueError, match="'colour'"):
        SceneConfig.from_dict({"colour": 1})
    assert SceneConfig.from_dict({"frames": 8}).frames == 8
    with pytest.raises(TypeError, match="config"):
        generate_scenes({"frames": 8}, 2)


def test_world_settings_round_trip_through_a_recipe():
    """One definition of the world: a recipe's data section is `world_settings` of one
    SceneConfig, and `pick` reads back the same world (the renamed seed included)."""
    from spjax.data.scenes import SceneConfig, world_settings
    from spjax.training.config import load_recipe
    from spjax.training.data import scene_config

    world = SceneConfig(size=48, frames=8, seed=3, anomaly_types=("fall",), max_people=2)
    flat = world_settings(world, seed="world_seed")
    assert "seed" not in flat and flat["world_seed"] == 3
    assert SceneConfig.pick(flat, seed="world_seed") == world
    cfg = load_recipe("recipes/spvlm_synthetic.py")
    assert scene_config(cfg) == SceneConfig(size=64, anomaly_fraction=0.4)
