"""Tags of the world's random streams, one home so that no two streams collide.

Each generator seeds NumPy with a sequence `[seed, TAG, …]`; the tag names which stream it is
(face variation, layouts, scenes, …). The values are part of the world's definition: changing
one changes every clip or face drawn from that stream.
"""

FACE_VARIATION = 7919  # per-identity appearance draws (data.faces)
FACE_SET = 104729  # which faces of which identities a face set holds (data.faces)
LAYOUT = 31337  # room layouts (data.layout)
SCENE = 271828  # clips of a scene set (data.scenes)
TFDS_SHUFFLE = 99  # the order a prepared TFDS split is written in (data.tfds_builders)
RENDER = 161803  # lighting and sensor noise of rendered clips (data.render, jax.random keys)
