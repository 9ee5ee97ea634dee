"""`spjax bench patterns`: the pattern-design sweep (privacy cells, optional utility cells)."""

from __future__ import annotations

from spjax.cliargs import positive_int


def register(subparsers) -> None:
    b = subparsers.add_parser(
        "bench", help="benchmarks that sweep designs (pattern families x rates x photons)"
    )
    bsub = b.add_subparsers(dest="bench", metavar="BENCH", required=True)
    bp = bsub.add_parser(
        "patterns", help="privacy audit over pattern families x sampling rates x photon budgets"
    )
    bp.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results folder (resumable: finished cells are skipped)",
    )
    bp.add_argument(
        "--quick", action="store_true", help="the small grid (minutes on 2 CPU cores; a smoke test)"
    )
    bp.add_argument(
        "--families",
        default=None,
        help="comma-separated family names (default: the fixed families; hadamard = "
        "hadamard:low_frequency)",
    )
    bp.add_argument("--rates", default=None, help="comma-separated rates, fractions or percentages")
    bp.add_argument(
        "--photons", default=None, help="comma-separated photon budgets; 'none' = noiseless"
    )
    bp.add_argument("--identities", type=positive_int, default=None, help="closed-set identities")
    bp.add_argument("--seeds", type=positive_int, default=None, help="seeds per cell")
    bp.add_argument(
        "--size", type=positive_int, default=32, help="face and clip size H=W (default 32)"
    )
    bp.add_argument("--no-scenes", action="store_true", help="skip scene re-identification")
    bp.add_argument(
        "--scene-attackers",
        default=None,
        help="comma-separated T3 attackers (spjax.privacy.scene_reid.SCENE_ATTACKS); default: the grid's",
    )
    bp.add_argument(
        "--no-calibration",
        action="store_true",
        help="skip the sweep's ceiling and attacker strength",
    )
    bp.add_argument(
        "--utility",
        metavar="RECIPE",
        default=None,
        help="train every design with this recipe at the utility rates (fixed families "
        "frozen, plus learned utility-only and adversarial) for the Pareto figure",
    )
    bp.add_argument(
        "--utility-rates",
        default=None,
        help="rates that get utility cells (default 1%%,5%%; quick 5%%)",
    )
    bp.add_argument(
        "--utility-set",
        action="append",
        metavar="KEY=VALUE",
        help="recipe override for every utility training (repeatable), e.g. train.steps=1000",
    )
    bp.set_defaults(func=_bench_patterns)


def _bench_patterns(args) -> int:
    from spjax.bench.patterns import bench_patterns_cli

    return bench_patterns_cli(args)
