#!/usr/bin/env bash
# The privacy–utility Pareto of the seeing SP-VLM (issue 12, item 5): train each design with the
# default recipe, then audit it with fresh attackers on faces the sensor never saw and on the
# scene stream. One design at a time (two jobs on two cores slow both several-fold).
#
#   bash benchmarks/private_pareto.sh NAME RATE [--set k=v ...]
#
# writes runs/pareto/NAME (the run), benchmarks/results/pareto_seeing/NAME.{report,config}.json,
# NAME.audit.json and NAME.times (wall seconds of training and of the audit).
set -euo pipefail
name=$1 rate=$2; shift 2
spjax=${SPJAX:-.venv/bin/spjax}
run=runs/pareto/$name out=benchmarks/results/pareto_seeing
mkdir -p "$out" runs/pareto
t0=$(date +%s)
if [ ! -f "$run/report.json" ]; then
  "$spjax" train recipes/spvlm_synthetic.py --workdir "$run" --set sensor.rate="$rate" "$@"
fi
t1=$(date +%s)
cp "$run/report.json" "$out/$name.report.json"
cp "$run/config.json" "$out/$name.config.json"
# Quick attackers, faces and scenes; the full calibrated audit is run on chosen points only.
"$spjax" privacy-audit --run "$run" --quick --no-calibration --no-recognizer --no-reconstruction \
  --out "$out/$name.audit.json"
t2=$(date +%s)
printf '{"train_s": %d, "audit_s": %d}\n' $((t1 - t0)) $((t2 - t1)) > "$out/$name.times"
