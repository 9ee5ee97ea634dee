"""spjax.bench: sweeps over sensing designs, the area above training and eval.

`patterns` runs the privacy audit (`spjax.eval`) over pattern families × sampling rates ×
photon budgets, and trains every design with a recipe (`spjax.training`) for the
privacy–utility Pareto front. Nothing below this area imports it."""
