"""Training system: config errors, the frozen decoder, NaN handling, checkpoints and resume,
data-parallel sharding (8 CPU devices) and two-process training (CPU collectives)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "spvlm_synthetic.py"
WORKER = Path(__file__).resolve().parent / "training_worker.py"

TINY_DECODER = textwrap.dedent("""
    import ml_collections
    def get_config():
        c = ml_collections.ConfigDict()
        c.task = "pretrain_decoder"
        c.seed = 0
        c.corpus = dict(n_documents=40, seed=7, size=16, frames=8)
        c.model = dict(dim=32, n_layers=1, n_heads=2, n_kv_heads=1, hidden_dim=64,
                       rope_theta=10000.0, max_seq_len=192, tie_embeddings=True)
        c.optim = dict(lr=3e-3, warmup_steps=1, weight_decay=0.0, clip_norm=1.0)
        c.train = dict(steps=3, batch_size=8, seq_len=160, log_every=1, eval_every=10,
                       checkpoint_every=10, keep_checkpoints=1)
        c.run = dict(wandb="disabled")
        return c
""")


def tiny_overrides(decoder_recipe, cache_dir) -> list[str]:
    return [
        f"decoder.recipe={decoder_recipe}",
        f"decoder.cache_dir={cache_dir}",
        "data.size=16",
        "data.frames=8",
        "data.n_train=24",
        "data.n_val=8",
        "data.n_test=8",
        "data.n_identities=8",
        "data.faces_per_identity=6",
        "sensor.rate=0.1",
        "encoder.width=16",
        "encoder.depth=1",
        "encoder.heads=2",
        "encoder.num_queries=2",
        "encoder.channels=8",
        "encoder.grid=8",
        "train.steps=6",
        "train.label_steps=2",
        "train.batch_size=8",
        "train.log_every=1",
        "train.eval_every=3",
        "train.checkpoint_every=2",
        "privacy.face_batch_size=8",
        "privacy.restart_every=4",
        "privacy.warmup_steps=2",
        "eval.batch_size=16",
        "eval.samples_to_log=1",
        "eval.t3_quick=False",  # the run's own quick T3 renders thousands of clips
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny decoder recipe and a cache folder where it is pretrained once."""
    base = tmp_path_factory.mktemp("tiny")
    recipe = base / "decoder_recipe.py"
    recipe.write_text(TINY_DECODER)
    return str(recipe), str(base / "cache")


def tiny_config(tiny, *extra):
    from spjax.training.config import apply_overrides, load_recipe

    return apply_overrides(load_recipe(RECIPE), tiny_overrides(*tiny) + list(extra))


# -- configs and errors before compute -----------------------------------------------------


def test_unknown_override_names_the_key():
    from spjax.training.config import apply_overrides, load_recipe

    with pytest.raises(ValueError, match="unknown config key 'optim.lrr'.*optim.lr"):
        apply_overrides(load_recipe(RECIPE), ["optim.lrr=1e-3"])


def test_override_type_is_checked():
    from spjax.training.config import apply_overrides, load_recipe

    with pytest.raises(ValueError, match="train.steps"):
        apply_overrides(load_recipe(RECIPE), ["train.steps=many"])
    cfg = apply_overrides(load_recipe(RECIPE), ["optim.lr=1", "privacy.adversaries=('mlp',)"])
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert tuple(cfg.privacy.adversaries) == ("mlp",)


def test_every_recipe_loads():
    from spjax.training.config import load_recipe

    for path in sorted((ROOT / "recipes").glob("*.py")):
        cfg = load_recipe(path)
        assert cfg.task in ("pretrain_decoder", "spvlm"), path


@pytest.mark.parametrize(
    "override, message",
    [
        ("sensor.rate=1.5", "sensor.rate"),
        ("sensor.rate=0.0001", "sensor.rate"),
        ("privacy.term='loud'", "privacy.term"),
        ("privacy.weight=-1.0", "privacy.weight"),
        ("train.steps=0", "train.steps"),
        # Keys of evaluation and restarts are tagged above every step number.
        (f"train.steps={1 << 30}", "train.steps"),
    ],
)
def test_impossible_configs_fail_before_compute(override, message):
    from spjax.training.build import validate_spvlm_config
    from spjax.training.config import apply_overrides, load_recipe

    cfg = apply_overrides(load_recipe(RECIPE), [override])
    with pytest.raises(ValueError, match=message):
        validate_spvlm_config(cfg)


def test_missing_dataset_is_a_clear_error(tmp_path):
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.run import run_recipe

    cfg = apply_overrides(
        load_recipe(RECIPE), ["data.source=tfds", f"data.data_dir={tmp_path / 'nowhere'}"]
    )
    with pytest.raises(FileNotFoundError, match="spjax data prepare"):
        run_recipe(cfg, tmp_path / "run")


def test_cli_reports_bad_recipe_in_one_line(tmp_path, capsys):
    from spjax.cli import main

    assert main(["train", str(tmp_path / "missing.py"), "--workdir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


# -- the trainer in-process (tiny) ---------------------------------------------------------


@pytest.mark.slow
def test_tiny_run_trains_keeps_decoder_frozen_and_reports(tiny, tmp_path):
    import jax
    from flax import nnx

    from spjax.training.report import run_spvlm
    from spjax.training.trainer import SPVLMTrainer

    cfg = tiny_config(tiny)
    trainer = SPVLMTrainer(cfg, tmp_path / "run")
    before_frozen = [np.array(x) for x in jax.tree.leaves(trainer.frozen)]
    before_sensor = [
        np.array(x) for x in jax.tree.leaves(nnx.state(trainer.model().sensor, nnx.Param))
    ]
    metrics = trainer.train()
    assert np.isfinite(metrics["task_loss"])
    after_frozen = [np.array(x) for x in jax.tree.leaves(trainer.frozen)]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before_frozen, after_frozen))
    after_sensor = [
        np.array(x) for x in jax.tree.leaves(nnx.state(trainer.model().sensor, nnx.Param))
    ]
    assert any(not np.array_equal(a, b) for a, b in zip(before_sensor, after_sensor)), (
        "learned patterns must receive gradients"
    )
    # Optimiser state exists only for trainable parts: no decoder leaves anywhere in the state.
    paths = [
        "/".join(str(getattr(k, "key", k)) for k in p)
        for p, _ in jax.tree_util.tree_flatten_with_path(trainer.state)[0]
    ]
    assert not any("decoder" in p for p in paths)
    assert any("sensor" in p for p in paths) and any("adversaries" in p for p in paths)

    report = run_spvlm(cfg, tmp_path / "run2")
    saved = json.loads((tmp_path / "run2" / "report.json").read_text())
    for key in ("sampling_rate", "K", "H", "W", "split", "photons"):
        assert key in saved
    for key in ("anomaly_accuracy", "count_mae", "activity_accuracy", "rouge_l"):
        assert key in saved["utility"]
    assert "NOT the privacy audit" in saved["privacy"]["note"]
    timing = saved["timing_s"]
    assert set(timing["compile"]) == {"setup", "train", "evaluate"}
    assert 0 < timing["compile"]["train"] < timing["total"] and timing["input_wait"] >= 0
    assert saved["privacy"]["chance"] == pytest.approx(1 / 8)
    assert (tmp_path / "run2" / "sensor.json").is_file()
    assert all(Path(p).is_file() for p in report["figures"])
    rows = [
        json.loads(line) for line in (tmp_path / "run2" / "metrics.jsonl").read_text().splitlines()
    ]
    assert {r["kind"] for r in rows} >= {"train", "val"}


@pytest.mark.slow
@pytest.mark.parametrize("log_every", [1, 3])
def test_nan_loss_stops_with_step_and_term_and_keeps_checkpoint(tiny, tmp_path, log_every):
    """The watch runs on the device and is read at log, validation and checkpoint steps: with
    log_every=3 the NaN of step 5 is seen at step 6 and still named as step 5, and step 6's
    state is not saved."""
    from spjax.training.loop import TrainingError
    from spjax.training.trainer import SPVLMTrainer

    every = [f"train.log_every={log_every}", "train.checkpoint_every=2"]
    cfg = tiny_config(tiny, "train.steps=4", *every)
    trainer = SPVLMTrainer(cfg, tmp_path / "run")
    trainer.train()
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints" / "last").iterdir())
    cfg = tiny_config(tiny, "train.steps=8", *every)
    trainer = SPVLMTrainer(cfg, tmp_path / "run", resume=True)
    clips = trainer.train_clips.clips
    trainer.train_clips.clips = lambda step: {
        **clips(step),
        "frames": np.full_like(clips(step)["frames"], np.nan),
    }  # corrupt data after validation
    with pytest.raises(TrainingError, match=r"non-finite .*task_loss.* at step 5"):
        trainer.train()
    after = sorted(p.name for p in (tmp_path / "run" / "checkpoints" / "last").iterdir())
    assert after == kept


@pytest.mark.slow
def test_resume_refuses_other_config_and_existing_workdir(tiny, tmp_path):
    from spjax.training.checkpoint import CheckpointError
    from spjax.training.trainer import SPVLMTrainer

    SPVLMTrainer(tiny_config(tiny, "train.steps=2"), tmp_path / "run").train()
    with pytest.raises(FileExistsError, match="--resume"):
        SPVLMTrainer(tiny_config(tiny, "train.steps=2"), tmp_path / "run")
    with pytest.raises(CheckpointError, match="optim.lr.*|.*optim.lr"):
        SPVLMTrainer(tiny_config(tiny, "optim.lr=0.5"), tmp_path / "run", resume=True)
    # A corrupt checkpoint is reported as such, naming the folder.
    step_dir = tmp_path / "run" / "checkpoints" / "last" / "2"
    for f in step_dir.rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "state" in str(f):
            f.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="checkpoints/last"):
        SPVLMTrainer(tiny_config(tiny, "train.steps=4"), tmp_path / "run", resume=True).train()


# -- subprocess tests: kill/resume, 8 devices, 2 processes ---------------------------------


def _env(**extra):
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _worker(workdir, tiny, out, *args, env=None):
    return [sys.executable, str(WORKER), str(workdir), tiny[0], tiny[1], str(out), *args]


def _load(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def pretrained(tiny):
    """Pretrain the tiny decoder once so subprocesses only read the cache."""
    from spjax.training.decoders import obtain_decoder

    obtain_decoder(tiny_config(tiny))
    return tiny


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_run(pretrained, tmp_path):
    steps = ["train.steps=12", "train.checkpoint_every=2", "train.eval_every=100"]
    ref = tmp_path / "ref.npz"
    subprocess.run(
        _worker(tmp_path / "ref", pretrained, ref, *steps), env=_env(), check=True, timeout=600
    )
    run = tmp_path / "killed"
    proc = subprocess.Popen(_worker(run, pretrained, tmp_path / "unused.npz", *steps), env=_env())
    last = run / "checkpoints" / "last"
    deadline = time.time() + 600
    while time.time() < deadline:
        done = [int(p.name) for p in last.iterdir() if p.name.isdigit()] if last.is_dir() else []
        if done and max(done) >= 4:
            break
        if proc.poll() is not None:
            pytest.fail("training finished before it could be killed; make it longer")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    out = tmp_path / "resumed.npz"
    subprocess.run(
        _worker(run, pretrained, out, "--resume", *steps), env=_env(), check=True, timeout=600
    )
    a, b = _load(ref), _load(out)
    assert a.keys() == b.keys() and a
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # The resumed metrics.jsonl holds each step once, with the uninterrupted run's values.
    wall = ("time", "seconds", "elapsed", "wall", "steps_per_s")  # as benchmarks/compare_runs
    logs = [
        [
            {k: v for k, v in json.loads(line).items() if not any(w in k for w in wall)}
            for line in (folder / "metrics.jsonl").read_text().splitlines()
        ]
        for folder in (tmp_path / "ref", run)
    ]
    order = lambda row: (row["step"], row["kind"], json.dumps(row, sort_keys=True))  # noqa: E731
    assert sorted(logs[1], key=order) == sorted(logs[0], key=order)


@pytest.mark.slow
def test_sharded_step_on_8_devices_equals_single_device(pretrained, tmp_path):
    # SGD: updates are linear in the gradients, so float tolerance is meaningful (see optim).
    # Without the clip summary: its max-pool over tokens has float-level near-ties that another
    # device count's matmul tiling flips, routing a gradient to a different token; the
    # trajectories then differ by a few percent of an update for a reason that is not sharding.
    steps = [
        "train.steps=3",
        "train.eval_every=100",
        "train.checkpoint_every=100",
        "optim.name=sgd",
        "optim.warmup_steps=0",
        "encoder.clip_summary=False",
    ]
    one, eight, init = tmp_path / "one.npz", tmp_path / "eight.npz", tmp_path / "init.npz"
    subprocess.run(
        _worker(tmp_path / "r1", pretrained, one, "--init", str(init), *steps),
        env=_env(),
        check=True,
        timeout=600,
    )
    subprocess.run(
        _worker(tmp_path / "r8", pretrained, eight, *steps),
        env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
        check=True,
        timeout=600,
    )
    a, b, a0 = _load(one), _load(eight), _load(init)
    assert a.keys() == b.keys() == a0.keys() and a
    assert not any("summary" in k for k in a), "the switch should remove the summary layer"
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-6, err_msg=k)
    moved = sum(not np.array_equal(a[k], a0[k]) for k in a)
    assert moved > len(a) // 2, "three steps should move most parameter arrays"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_to_identical_parameters(pretrained, tmp_path):
    steps = ["train.steps=3", "train.eval_every=100", "train.checkpoint_every=100"]
    port = _free_port()
    out = tmp_path / "p{pid}.npz"
    procs = [
        subprocess.Popen(
            _worker(tmp_path / "run", pretrained, out, *steps),
            env=_env(
                SPJAX_COORDINATOR=f"127.0.0.1:{port}",
                SPJAX_NUM_PROCESSES="2",
                SPJAX_PROCESS_ID=str(i),
            ),
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=600) == 0
    a, b = _load(tmp_path / "p0.npz"), _load(tmp_path / "p1.npz")
    assert a.keys() == b.keys() and a
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.slow
def test_tfds_recipe_trains_on_prepared_datasets(tiny, tmp_path):
    from spjax.data.tfds_builders import prepare
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.trainer import SPVLMTrainer

    scenes_cfg = "size=16,frames=8,n_train=24,n_val=8,n_test=8,n_identities=8"
    faces_cfg = "size=16,n_identities=8,train_per_identity=4,val_per_identity=2,test_per_identity=2"
    prepare("spjax_scenes", tmp_path / "data", dict(i.split("=") for i in scenes_cfg.split(",")))
    prepare("spjax_faces", tmp_path / "data", dict(i.split("=") for i in faces_cfg.split(",")))
    cfg = apply_overrides(
        load_recipe(ROOT / "recipes" / "spvlm_tfds.py"),
        tiny_overrides(*tiny)
        + [
            f"data.data_dir={tmp_path / 'data'}",
            f"data.scenes_config={scenes_cfg}",
            f"data.faces_config={faces_cfg}",
            "train.steps=2",
        ],
    )
    trainer = SPVLMTrainer(cfg, tmp_path / "run")
    assert trainer.train_clips.arrays["frames"].shape[1:] == (8, 16, 16)
    assert trainer.n_identities == 8
    assert np.isfinite(trainer.train()["task_loss"])
    # A config that does not match the prepared data is named, not silently used.
    bad = apply_overrides(
        load_recipe(ROOT / "recipes" / "spvlm_tfds.py"),
        tiny_overrides(*tiny)
        + [f"data.data_dir={tmp_path / 'data'}", "data.scenes_config=size=16,frames=9"],
    )
    with pytest.raises(FileNotFoundError, match="spjax data prepare"):
        SPVLMTrainer(bad, tmp_path / "run_bad")


def test_run_logger_writes_jsonl_and_wandb_offline_needs_no_login(tmp_path, monkeypatch):
    from spjax.training.logging import RunLogger, read_metrics

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    log = RunLogger(tmp_path, config={"a": 1}, wandb_mode="offline", name="t")
    log.log("train", 1, loss=np.float32(0.5), note="x")
    log.log("train", 2, loss=float("nan"))
    log.close()
    rows = read_metrics(tmp_path, "train")
    assert (
        [r["step"] for r in rows] == [1, 2] and rows[0]["loss"] == 0.5 and rows[1]["loss"] == "nan"
    )
    assert any((tmp_path / "wandb").glob("offline-run-*"))
    with pytest.raises(ValueError, match="wandb mode"):
        RunLogger(tmp_path, wandb_mode="cloud")


# -- spjax evaluate -------------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_a_trained_run_on_other_worlds_and_its_errors(tiny, tmp_path, capsys):
    from spjax.cli import main
    from spjax.training.checkpoint import CheckpointError
    from spjax.training.report import run_spvlm
    from spjax.training.restore import evaluate_run

    run = tmp_path / "run"
    run_spvlm(tiny_config(tiny, "train.steps=4", "train.label_steps=2"), run)
    own = evaluate_run(run)
    report = json.loads((run / "report.json").read_text())
    # The same world and checkpoint: the run's own test numbers, to the digit (a tiny run may
    # answer no count parseably: its MAE is then NaN, which the report writes as null).
    from spjax.jsonio import to_jsonable

    for key in ("anomaly_accuracy", "count_mae", "rouge_l", "caption_content_f1"):
        assert to_jsonable(own["utility"][key]) == report["utility"][key], key
    # The caption content score and, beside ROUGE-L, what a perfectly informed caption reaches.
    describe = report["utility"]["details"]["describe"]
    assert 0.0 <= report["utility"]["caption_content_f1"] <= 1.0
    assert describe["content"]["n"] == describe["n"]
    assert describe["caption_ceilings"]["content_f1"] == {"oracle_random": 1.0}
    assert 0.0 < describe["caption_ceilings"]["rouge_l"]["oracle_random"] < 1.0
    # The heads' terse captions state two facts per clip (count, anomaly type): their F1 is the
    # mean of the two exact accuracies over the same clips.
    heads = report["utility"]["label_heads"]
    assert heads["terse_caption_content_f1"] == pytest.approx(
        (heads["count_exact_accuracy"] + heads["anomaly_type_accuracy"]) / 2
    )
    other = evaluate_run(run, ["data.world_seed=1", "data.lighting=False", "data.n_test=6"])
    assert other["utility"]["details"]["count"]["n"] == 6
    assert set(other["utility"]) >= {"anomaly_accuracy", "count_mae", "label_heads"}
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(run),
                "--set",
                "data.identity_offset=8",
                "--set",
                "sensor.photons=1e4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["overrides"] == [
        "data.identity_offset=8",
        "sensor.photons=1e4",
    ]
    printed = capsys.readouterr().out
    assert "caption content F1" in printed and "BLEU-4" in printed, printed
    # Errors: named, one line, nothing written.
    with pytest.raises(ValueError, match="unknown config key 'data.wrld_seed'"):
        evaluate_run(run, ["data.wrld_seed=1"])
    with pytest.raises(ValueError, match="data.size"):
        evaluate_run(run, ["data.size=32"])
    with pytest.raises(ValueError, match="only data"):
        evaluate_run(run, ["optim.lr=0.1"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text((run / "config.json").read_text())
    with pytest.raises(CheckpointError, match="no checkpoint"):
        evaluate_run(tmp_path / "empty")
    assert main(["evaluate", "--run", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_decoder_recipe_resolves_from_any_directory(tmp_path, monkeypatch):
    from spjax.training.decoders import resolve_recipe

    monkeypatch.chdir(tmp_path)
    found = resolve_recipe("recipes/pretrain_decoder_tiny.py")
    assert found.is_file() and found.samefile(ROOT / "recipes" / "pretrain_decoder_tiny.py")
    (tmp_path / "mine.py").write_text("")
    assert resolve_recipe("mine.py") == Path("mine.py")  # the working directory comes first
    with pytest.raises(FileNotFoundError, match="decoder.recipe"):
        resolve_recipe("recipes/missing.py")


def test_overrides_take_the_type_of_the_setting():
    from spjax.training.config import apply_overrides, load_recipe

    cfg = apply_overrides(load_recipe(RECIPE), ["train.steps=1e3", "optim.lr=1"])
    assert cfg.train.steps == 1000 and isinstance(cfg.train.steps, int)
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    for bad in ("train.steps=True", "train.steps=2.5", "sensor.split=1"):
        with pytest.raises(ValueError, match=bad.split("=")[0]):
            apply_overrides(load_recipe(RECIPE), [bad])
