"""A faithful simulated recording (`spjax sensing record`): clips of the world shown through
an export's DMD frames *as the device shows them* (read back from the export's files by the
export module's own reader: binarised, zoomed, placed, split) and measured by a photodiode
with gain, dark offset, shot and read noise, written as raw samples in the manifest's order.

`spjax ask` on the result must give the answers the run gives in simulation for the same
clips and the same noise draw (`Pipeline.simulate` with the same seed): the loop is closed.
The export's calibration frames (all-off, all-on) are rendered like every other frame, with
their own noise draw, so the pattern frames keep the simulation's. `drift` makes the gain and
dark offset change linearly over the recording, as a warming detector does.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from spjax import jsonio
from spjax.deploy.recording import RecordingError, write_samples

# Clip-seed tag of simulated recordings: (seed, 3, 0, 0) is never a training (0), validation
# (1) or test (2) seed of spjax.data.stream, so recorded clips are unseen clips.
RECORD_TAG = 3
CALIBRATION_NOISE_TAG = 1  # seeds the calibration frames' noise: (seed, 1)


def check_drift(drift) -> tuple[float, float]:
    """`drift`: a relative change of gain and dark over the recording (0.05: both end 5 %
    higher), or a pair (gain change, dark change)."""
    if isinstance(drift, (int, float, np.floating, np.integer)) and not isinstance(drift, bool):
        pair = (float(drift), float(drift))
    else:
        try:
            pair = tuple(float(v) for v in drift)
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2:
            raise ValueError(
                f"--drift: expected a relative change such as 0.05, or GAIN,DARK changes, got "
                f"{drift!r}"
            )
    if not all(np.isfinite(v) and v > -1 for v in pair):
        raise ValueError(f"--drift: expected finite relative changes > -1, got {pair}")
    return pair


def calibration_noise(noise, lam, seed: int) -> np.ndarray:
    """Counts of the calibration frames: the NoiseModel's exact sampler (Poisson, read
    noise, ADC) drawn with NumPy from the seed (seed, CALIBRATION_NOISE_TAG). The pattern
    frames keep `jax.random.key(seed)` (the simulation's draw), and no second array shape
    has to be compiled for JAX's Poisson sampler (seconds per shape)."""
    rng = np.random.default_rng([int(seed) % 2**63, CALIBRATION_NOISE_TAG])
    counts = rng.poisson(np.asarray(lam, np.float64)).astype(np.float64)
    if noise.read_std > 0:
        counts += noise.read_std * rng.standard_normal(counts.shape)
    return counts if noise.full_scale is None else np.asarray(noise.adc(counts), np.float64)


def drift_profile(n: int, value: float, change: float) -> np.ndarray:
    """(n,) values rising linearly from `value` to `value · (1 + change)` over the samples."""
    return value * (1 + change * np.linspace(0.0, 1.0, n))


def world(manifest: dict, *, frames: int | None = None, world_seed=None, run=None):
    """The scene world of a recording: a run's (`data.*` of its config) or the default world,
    at the export's frame size; `frames` and `world_seed` override."""
    import dataclasses

    from spjax.data.scenes import SceneConfig

    if manifest["h"] != manifest["w"]:
        raise ValueError(
            f"export: the world renders square frames, the export is {manifest['h']}x{manifest['w']}"
        )
    if run is not None:
        from spjax.training.restore import run_config

        config = SceneConfig.pick(run_config(run).data, seed="world_seed")
        if config.size != manifest["h"]:
            raise ValueError(
                f"--run: its frames are {config.size}x{config.size}, the export's "
                f"{manifest['h']}x{manifest['w']}"
            )
    else:
        config = SceneConfig(size=int(manifest["h"]))
    changes = {}
    if frames is not None:
        changes["frames"] = int(frames)
    if world_seed is not None:
        changes["seed"] = int(world_seed)
    return dataclasses.replace(config, **changes)


def render_clips(config, n: int, *, seed: int = 0) -> dict:
    """`n` clips of `config` (`generate_scenes` layout) from the recording seed `seed`."""
    from spjax.data.scenes import generate_scenes

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"--clips: expected a positive number of clips, got {n!r}")
    return generate_scenes(config, n, seed=(int(seed), RECORD_TAG, 0, 0))


def detector_noise(manifest: dict, *, photons=None, read_std=None):
    """The recording's NoiseModel: the export's (the sensor's as trained) with the photon
    budget and read noise overridden if given; None for a noiseless sensor left as is."""
    from spjax.sensing import NoiseModel

    base = manifest.get("photons")
    if base is None and photons is None:
        if read_std:
            raise ValueError("--read-std: the export's sensor is noiseless; give --photons too")
        return None
    fields = dict(base or {"photons": photons})
    if photons is not None:
        fields["photons"] = float(photons)
    if read_std is not None:
        fields["read_std"] = float(read_std)
    return NoiseModel.from_dict(fields)


def simulate_samples(
    export_dir,
    clips: np.ndarray,
    *,
    seed: int = 0,
    gain: float = 1.0,
    dark: float = 0.0,
    photons: float | None = None,
    read_std: float | None = None,
    noiseless: bool = False,
    drift=0.0,
) -> tuple[np.ndarray, dict]:
    """Raw samples (N·T·F,) float64 of clips (N, T, H, W) shown through the export's frames,
    frame time after frame time, each frame time the F physical frames in display order
    (calibration frames first). The pattern frames' noise is drawn with
    `jax.random.key(seed)` on (N, T, patterns' frames), the draw `Pipeline.simulate` makes;
    the calibration frames' by `calibration_noise`. `drift` (see `check_drift`) changes
    gain and dark linearly from their values at the first sample to the last."""
    from spjax.export import read_frames
    from spjax.export.calibration import manifest_calibration

    if not (np.isfinite(gain) and gain > 0):
        raise ValueError(f"--gain: expected a finite value > 0, got {gain}")
    if not np.isfinite(dark):
        raise ValueError(f"--dark: expected a finite value, got {dark}")
    gain_drift, dark_drift = check_drift(drift)
    shown, manifest = read_frames(export_dir)
    if manifest.get("bit_depth") is not None:
        raise RecordingError(f"{export_dir}: bit-plane exports are not simulated")
    clips = np.asarray(clips, np.float32)
    h, w = int(manifest["h"]), int(manifest["w"])
    if clips.ndim != 4 or clips.shape[2:] != (h, w):
        raise ValueError(f"clips: expected (N, T, {h}, {w}), got {clips.shape}")
    noise = detector_noise(manifest, photons=photons, read_std=read_std)
    # ⟨frame, x⟩ for every physical frame as shown: the mirrors that are on collect the light.
    m = jnp.einsum(
        "nthw,fhw->ntf",
        jnp.asarray(clips),
        jnp.asarray(shown, jnp.float32),
        precision=jax.lax.Precision.HIGHEST,
    )
    if manifest.get("timing", "frame") == "pattern":
        # Slot j of frame t sees x_t + (j/F)(x_{t+1} − x_t), the last frame held (the Sensor's
        # pattern timing); the model is linear, so mix the per-frame measurements.
        f = m.shape[-1]
        a = jnp.arange(f, dtype=m.dtype) / f
        m = (1 - a) * m + a * jnp.concatenate([m[:, 1:], m[:, -1:]], axis=1)
    cal = manifest_calibration(manifest)
    calibration = np.asarray(cal["off"] + cal["on"], int)
    patterns = np.setdiff1d(np.arange(m.shape[-1]), calibration)
    if noise is None:
        counts = np.asarray(m, np.float64)
    else:
        lam = noise.mean_counts(m, h * w)
        if noiseless:
            counts = np.asarray(lam, np.float64)
        else:
            counts = np.empty(lam.shape, np.float64)
            counts[..., patterns] = noise.sample(jax.random.key(seed), lam[..., patterns], "exact")
            if len(calibration):
                counts[..., calibration] = calibration_noise(noise, lam[..., calibration], seed)
    counts = counts.reshape(-1)
    n = len(counts)
    samples = drift_profile(n, gain, gain_drift) * counts + drift_profile(n, dark, dark_drift)
    info = {
        "export": str(export_dir),
        "format": manifest["format"],
        "patterns_sha256": manifest["patterns_sha256"],
        "sequence_sha256": manifest.get("sequence_sha256"),
        "physical_frames_per_frame_time": int(manifest["n_frames"]),
        "calibration_frames": {"off": cal["off"], "on": cal["on"]},
        "frame_period_us": manifest.get("frame_period_us"),
        "timing": manifest.get("timing", "frame"),
        "detector": {
            "gain": float(gain),
            "dark": float(dark),
            "noise": None if noise is None else noise.to_dict(),
            "noiseless": bool(noiseless or noise is None),
            "noise_seed": int(seed),
            "drift": None
            if gain_drift == dark_drift == 0
            else {
                "shape": "linear in the sample index, from the first sample to the last",
                "gain": [float(gain), float(gain * (1 + gain_drift))],
                "dark": [float(dark), float(dark * (1 + dark_drift))],
                "relative_change": {"gain": gain_drift, "dark": dark_drift},
            },
        },
    }
    return samples, info


def record(
    export_dir,
    out,
    *,
    clips: int,
    frames: int | None = None,
    world_seed: int | None = None,
    seed: int = 0,
    run=None,
    gain: float = 1.0,
    dark: float = 0.0,
    photons: float | None = None,
    read_std: float | None = None,
    noiseless: bool = False,
    drift=0.0,
) -> dict:
    """Render `clips` clips, record them through the export, write the raw samples to `out`
    (.npy/.npz/.csv) and the clips' ground truth to `<out stem>.labels.json`; returns the
    sidecar dict (with the clip frames under `_frames`, not written)."""
    from spjax.data.scenes import clip_labels
    from spjax.export.manifest import read_manifest

    out = Path(out)
    if out.suffix.lower() not in (".npy", ".npz", ".csv"):
        raise ValueError(f"--out: expected a .npy, .npz or .csv file name, got {out.name!r}")
    manifest = read_manifest(Path(export_dir))
    config = world(manifest, frames=frames, world_seed=world_seed, run=run)
    data = render_clips(config, clips, seed=seed)
    samples, info = simulate_samples(
        export_dir,
        data["frames"],
        seed=seed,
        gain=gain,
        dark=dark,
        photons=photons,
        read_std=read_std,
        noiseless=noiseless,
        drift=drift,
    )
    write_samples(out, samples)
    t, f = config.frames, info["physical_frames_per_frame_time"]
    sidecar = {
        "samples": str(out),
        "n_samples": len(samples),
        "clips": clips,
        "clip_frames": t,
        "samples_per_clip": t * f,
        **info,
        "world": {
            "size": config.size,
            "frames": t,
            "world_seed": config.seed,
            "clip_seed": [int(seed), RECORD_TAG, 0, 0],
            "from_run": None if run is None else str(run),
        },
        "note": "ground truth for demos; a recording's answers come from `spjax ask`. The "
        "detector photon budget differs from training only if --photons was given.",
        "ground_truth": [
            {
                "clip": i,
                "frames": [i * t, (i + 1) * t],
                **clip_labels(data, i),
                "captions": data["captions"][i],
                "qa": [list(x) for x in data["qa"][i]],
            }
            for i in range(clips)
        ],
    }
    labels_path = out.with_name(out.stem + ".labels.json")
    labels_path.write_text(jsonio.dumps(sidecar, indent=2))
    sidecar["labels_path"] = str(labels_path)
    sidecar["_frames"] = data["frames"]
    return sidecar
