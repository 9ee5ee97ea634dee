"""The private operating point: see what happens in the room, hide who is in it.

The default recipe's world, encoder and frozen decoder, with the sensor chosen for the
deployed threat (T3: re-identification of people in the room stream) rather than for
close-up faces:

- a fixed 2-D low-frequency Hadamard design (split ± pairs on a DMD) at r = 0.5 % of 64×64
  (K = 20): the lowest spatial frequencies keep where people are, their posture and motion
  (falls, fights, pacing) and blur away most of what identifies them at room scale (clothing
  tones and patterns, build, hair); at r = 1 % the room attacker still reads 9.5× chance
  (benchmarks/RESULTS.md); fixed patterns beat learned ones at low rates;
- the privacy machinery aimed at the room channel (`privacy.channel = "room"`): the training
  adversaries (monitoring only here: fixed patterns have nothing to learn) read room views of
  the training people;
- `eval.t3_quick`: the run ends with its own quick T3 audit.

    spjax train recipes/spvlm_private.py --workdir runs/private
    spjax privacy-audit --run runs/private --out runs/private/audit.json

benchmarks/RESULTS.md ("Private where it is deployed") has the measured frontier this point
was chosen from, and says plainly which targets it meets.
"""

from pathlib import Path

from spjax.training.config import load_recipe


def get_config():
    c = load_recipe(Path(__file__).with_name("spvlm_synthetic.py"))
    c.sensor.family = "hadamard"
    c.sensor.order = "low_frequency"
    c.sensor.rate = 0.005
    c.privacy.channel = "room"
    c.privacy.weight = 0.0
    return c
