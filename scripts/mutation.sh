#!/usr/bin/env bash
# Mutation score of the merge and the metrics (mutmut, configured in pyproject.toml's
# [tool.mutmut]): mutate sheetsync/merge.py and sheetsync/metrics/ one small change at a
# time, run the tests that cover each mutant, then print per module how many were killed.
# Mutants listed in docs/mutation.md as equivalent (no test can tell them apart) are left
# out of the score. Takes about 15-20 minutes on 2 cores: not run in CI.
#
#   bash scripts/mutation.sh            run (incremental: only changed code is re-mutated)
#   bash scripts/mutation.sh --report   print the score of the last run only
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if [ "${1:-}" != "--report" ]; then
  # fewer Hypothesis examples per mutant (tests/conftest.py), the same ones every time
  SHEETSYNC_HYPOTHESIS=mutation "$PY" -m mutmut run >/dev/null 2>&1 || true
fi
"$PY" -m mutmut results --all true 2>/dev/null | "$PY" scripts/mutation_score.py docs/mutation.md
