"""The label vocabulary of the behaviour world: anomaly types and per-person activities.

Scenes draw labels from it, the text grammar speaks it, the label heads and metrics index
it; one home keeps their indices the same everywhere."""

ANOMALY_TYPES = ("none", "fall", "fight", "loiter", "crowding")
ACTIVITIES = (
    "absent",
    "walking",
    "waiting",
    "washing hands",
    "sitting",
    "entering",
    "leaving",
    "loitering",
    "fallen",
    "fighting",
    "being pushed",
    "crowding",
)
# The fewest people each anomaly needs (a fight needs a victim; crowding is ≥ 3 people).
MIN_PEOPLE = {"fall": 1, "fight": 2, "loiter": 1, "crowding": 3}
