#!/usr/bin/env bash
# GPU check for the Python kernel (not part of CI): runs the sample diffusion training snippet
# (notes/03-score-based-smld.md, id=ncsn-train) through the CLI on cuda and on cpu, and prints
# the device name, training steps/s on each and the ratio.
#
#   bash scripts/gpu-check.sh [PYTHON]        # default: $MLNOTES_PYTHON, else python3
#
# Needs a built dist/ (npm run build) and a Python with PyTorch; on a machine without an NVIDIA
# GPU the cuda run reports why it cannot run and the script exits with 1.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${1:-${MLNOTES_PYTHON:-python3}}"
NOTE=notes/03-score-based-smld.md
ID=ncsn-train
[ -f dist/cli.js ] || npm run -s build >/dev/null

"$PY" - <<'PYEOF' || true
import torch
print("torch", torch.__version__, "| CUDA available:", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    print("  GPU %d: %s" % (i, torch.cuda.get_device_name(i)))
PYEOF

run() { # device -> prints "steps/s" of the run, or nothing
  local out
  out=$(node dist/cli.js run "$NOTE" --id "$ID" --python "$PY" --device "$1" --timeout 900 2>&1)
  echo "$out" | grep -E '^(device|steps/s|final loss|mean distance)|failed' | sed "s/^/  [$1] /" >&2
  echo "$out" | sed -n 's/^steps\/s \([0-9.]*\).*/\1/p' | tail -1
}

echo "== cuda"
cuda=$(run cuda)
echo "== cpu"
cpu=$(run cpu)
if [ -n "$cuda" ] && [ -n "$cpu" ]; then
  ratio=$(awk -v a="$cuda" -v b="$cpu" 'BEGIN { printf "%.2f", a / b }')
  echo "steps/s  cuda: $cuda  cpu: $cpu  ratio cuda/cpu: $ratio"
  exit 0
fi
echo "steps/s  cuda: ${cuda:-n/a}  cpu: ${cpu:-n/a}  (no ratio: a run did not complete)"
exit 1
