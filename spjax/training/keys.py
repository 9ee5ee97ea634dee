"""The named random streams of an SP-VLM run, all folded from its root key
`jax.random.key(cfg.seed)` (`jax.random.fold_in` with the constants below).

Training step t (1 ≤ t ≤ train.steps < STEP_LIMIT) folds in t, then one of the step's own
streams. Everything outside the steps (validation, answers, heads, the report's adversary
faces, adversary restarts, figures) folds in a tag at or above STEP_LIMIT, so none of their
keys can equal a training step's key.
"""

STEP_LIMIT = 1 << 30

# Inside one training step (folded into the step's key).
SCENE, FACE_ADVERSARY, FACE, FACE_SECOND_SHOT = range(4)

# Outside the steps (folded into the root key, then by batch offset or step where they repeat).
VALIDATE, ANSWER, HEADS, ADVERSARY_FACES, RESTART, FIGURES = range(STEP_LIMIT, STEP_LIMIT + 6)

# NumPy streams of a step: the question type it asks is seeded [seed, step]; the clips it reads
# from TFDS data [seed, step, NP_TFDS_BATCH, process]. The tag keeps them apart (NumPy pads a
# shorter seed sequence with zeros, so [seed, step, 0] would repeat the question-type stream).
NP_TFDS_BATCH = 1
