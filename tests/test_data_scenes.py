import numpy as np
import pytest

from spjax.data import layout as L
from spjax.data import people as P
from spjax.data import render as R
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


def test_64_pixels():
    cfg = SceneConfig(size=64, frames=8)
    a = generate_scenes(cfg, 5, seed=1, text=False)
    assert a["frames"].shape == (5, 8, 64, 64)


def test_a_clip_is_a_function_of_seed_and_index_only():
    """Clip i of a seed is the same whatever the number of clips asked for (in the first
    chunk and in later ones), text included; another seed tuple gives other clips."""
    cfg = SceneConfig(size=16, frames=6, anomaly_fraction=0.5)
    many = generate_scenes(cfg, 3 * S.CHUNK + 4, seed=(5, 1))
    for n, rows in ((7, range(7)), (2 * S.CHUNK + 3, range(S.CHUNK - 2, 2 * S.CHUNK + 3))):
        few = generate_scenes(cfg, n, seed=(5, 1))
        for k, v in few.items():
            for i in rows:
                if isinstance(v, list):
                    assert v[i] == many[k][i], (k, i)
                else:
                    np.testing.assert_array_equal(v[i], many[k][i], err_msg=f"{k}[{i}]")
    other = generate_scenes(cfg, 7, seed=(5, 2))
    assert not np.array_equal(other["frames"], many["frames"][:7])
    # A tuple and its zero-extended twin are different seeds.
    np.testing.assert_raises(
        AssertionError,
        np.testing.assert_array_equal,
        generate_scenes(cfg, 3, seed=(5,), text=False)["frames"],
        generate_scenes(cfg, 3, seed=(5, 0), text=False)["frames"],
    )
    with pytest.raises(ValueError, match="seed"):
        generate_scenes(cfg, 2, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        generate_scenes(cfg, 2, seed=(1, 2.5))


def test_device_frames_are_the_host_frames():
    import jax

    cfg = SceneConfig(size=16, frames=6)
    host = generate_scenes(cfg, 5, seed=3, text=False)
    dev = generate_scenes(cfg, 5, seed=3, text=False, device_frames=True)
    assert isinstance(dev["frames"], jax.Array) and isinstance(dev["drawn_pixels"], jax.Array)
    np.testing.assert_array_equal(np.asarray(dev["frames"]), host["frames"])
    np.testing.assert_array_equal(np.asarray(dev["drawn_pixels"]), host["drawn_pixels"])


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
    plan = plan_clips(cfg, S.CHUNK, np.random.default_rng(0))
    full = _render(cfg, plan)
    rendered = np.zeros((S.CHUNK, cfg.frames), int)
    for p in range(cfg.max_people):
        less = {**plan, "visible": plan["visible"].copy()}
        less["visible"][:, p] = False
        differs = (np.abs(full - _render(cfg, less)) > 1e-3).any(axis=(2, 3))
        np.testing.assert_array_equal(differs, plan["visible"][:, p])
        rendered += differs
    np.testing.assert_array_equal(rendered, plan["visible"].sum(1))


def _render(cfg, plan, **draws):
    """Frames of a plan (a chunk of `plan_clips`), with draw-list entries replaced."""
    d = {**R.draw_list(cfg, plan), **draws}
    frames, drawn = R.render(cfg, d, R.render_key(cfg.seed, (0,)), np.arange(len(d["room"])))
    return np.asarray(frames)


def _two_people(cfg, near_y=0.8, far_y=0.62):
    """A chunk of plans with exactly two standing people, one behind the other."""
    plan = plan_clips(cfg, S.CHUNK, np.random.default_rng(4))
    plan = {k: np.array(v) for k, v in plan.items()}
    plan["visible"][:] = False
    plan["visible"][:, :2] = True
    plan["pose"][:] = P.POSE["stand"]
    plan["identities"][:, :2] = [3, 7]
    plan["pos"][:, 0] = [0.5, far_y]
    plan["pos"][:, 1] = [0.5, near_y]
    return plan


def test_painter_order_near_people_cover_far_ones():
    cfg = SceneConfig(**CLEAN, size=64, frames=6)
    for near in (0, 1):  # the near person in either slot: order comes from depth, not slots
        plan = _two_people(cfg)
        if near == 0:
            plan["pos"][:, [0, 1]] = plan["pos"][:, [1, 0]]
        full = _render(cfg, plan)
        alone = {}
        for who in (0, 1):
            one = {**plan, "visible": plan["visible"].copy()}
            one["visible"][:, 1 - who] = False
            alone[who] = _render(cfg, one)
        # Where the near person is opaque (their frame against a black and a white room
        # agree), the frame shows them whatever is behind.
        plan_near = {**plan, "visible": plan["visible"].copy()}
        plan_near["visible"][:, 1 - near] = False
        zero = np.zeros((S.CHUNK, cfg.size, cfg.size), np.float32)
        on_black = _render(cfg, plan_near, room=zero)
        on_white = _render(cfg, plan_near, room=zero + 1)
        opaque = (on_white - on_black) < 1e-5
        assert opaque.sum() > S.CHUNK * cfg.frames * 10
        np.testing.assert_allclose(full[opaque], alone[near][opaque], atol=1e-5)
        # ... which is a test: there the far person alone looks different.
        far = alone[1 - near]
        assert (np.abs(far - alone[near])[opaque] > 0.05).mean() > 0.2


def test_drawn_pixels_agree_with_the_frames():
    """`drawn_pixels` counts the pixels a person covers more than half: rendered over a
    black and a white room, a person's coverage is 1 − (white − black) at every pixel."""
    cfg = SceneConfig(**CLEAN, size=32, frames=6, min_people=1, max_people=3)
    plan = plan_clips(cfg, S.CHUNK, np.random.default_rng(9))
    d = R.draw_list(cfg, plan)
    _, drawn = R.render(cfg, d, R.render_key(0, (0,)), np.arange(S.CHUNK))
    drawn = np.asarray(drawn)
    zero = np.zeros((S.CHUNK, cfg.size, cfg.size), np.float32)
    for p in range(cfg.max_people):
        one = {**plan, "visible": plan["visible"].copy()}
        one["visible"][:, np.arange(cfg.max_people) != p] = False
        cover = 1 - (_render(cfg, one, room=zero + 1) - _render(cfg, one, room=zero))
        np.testing.assert_array_equal((cover > 0.5).sum((2, 3)), drawn[:, p])
    assert (drawn[plan["visible"]] > 0).all() and (drawn[~plan["visible"]] == 0).all()


def test_frames_stay_in_range_with_noise_and_lighting():
    cfg = SceneConfig(size=16, frames=8, noise_std=0.3)
    f = generate_scenes(cfg, 40, seed=2, text=False)["frames"]
    assert f.dtype == np.float32 and f.min() == 0.0 and f.max() == 1.0
    # The noise is zero-mean with the configured spread (clipping aside, mid-grey pixels).
    clean = generate_scenes(
        SceneConfig(size=16, frames=8, noise_std=0.0, lighting=False), 40, seed=2, text=False
    )
    lit = generate_scenes(SceneConfig(size=16, frames=8, noise_std=0.0), 40, seed=2, text=False)
    assert not np.array_equal(lit["frames"], clean["frames"])  # lighting changes brightness
    noisy = generate_scenes(SceneConfig(size=16, frames=8, lighting=False), 40, seed=2, text=False)
    mid = (clean["frames"] > 0.2) & (clean["frames"] < 0.8)
    diff = (noisy["frames"] - clean["frames"])[mid]
    assert abs(diff.mean()) < 1e-3 and abs(diff.std() - 0.02) < 1e-3


def test_the_renderer_contracts_at_full_precision():
    """Like spjax.sensing (tests/test_sensing_precision.py): every contraction the renderer
    traces states Precision.HIGHEST, so no backend blends sprites in TF32 or bfloat16."""
    import jax
    from test_sensing_precision import imprecise

    cfg = SceneConfig(size=16, frames=6)
    plan = plan_clips(cfg, S.CHUNK, np.random.default_rng(0))
    draws = jax.device_put(R.draw_list(cfg, plan))
    bank = R.device_bank(cfg.size)[0]
    args = (draws["sprite"], draws["visible"], draws["weights"])
    _, bad = imprecise(R._sprites, bank, *args)
    assert not bad
    sprites = R._sprites(bank, *args)
    key, index = np.zeros(2, np.uint32), np.arange(S.CHUNK, dtype=np.uint32)
    _, bad = imprecise(
        lambda *a: R._composite(*a, noise_std=0.02, lighting=True), draws, sprites, key, index
    )
    assert not bad


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
