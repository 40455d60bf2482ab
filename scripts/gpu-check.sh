#!/usr/bin/env bash
# The prepared GPU check (not part of CI), for an NVIDIA machine; about 3-8 minutes:
#   1. the GPU: nvidia-smi, PyTorch's CUDA view, the WebGPU adapter Dawn picks
#   2. denoiser training steps/s (3→128→128→2, batch 1024, Adam) for PyTorch CUDA, PyTorch CPU,
#      tfjs WebGPU, tfjs-node-gpu (if it can be installed), tfjs WebAssembly — each with its
#      ratio to PyTorch CPU
#   3. the sample notes' GPU blocks (notes/03 ncsn-train, notes/04 torchrun) on --device cuda
#
#   bash scripts/gpu-check.sh [PYTHON]     # default: $MLNOTES_PYTHON, else python3
#
# Needs node and a built dist/ (npm run build; or carry a dist/ built with
# `node scripts/build.mjs --production --target linux-x64`, which holds dawn.node). Each step has
# its own time limit and a step that cannot run prints why and the rest goes on. Exit code 0 when
# PyTorch ran on cuda, tfjs ran on a hardware WebGPU adapter and the note blocks ran on cuda; else 1.
# GPU_CHECK_STEPS (default 40) sets the timed steps per tfjs/PyTorch run; GPU_CHECK_BUDGET
# (default 540 s) caps the whole check: each step's limit is cut to what is left, and a step that
# would get under 15 s is skipped and says so.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${1:-${MLNOTES_PYTHON:-python3}}"
STEPS="${GPU_CHECK_STEPS:-40}"
NOTE=scripts/gpu-check/denoiser.md
ok=1
fail() { ok=0; echo "  ! $*"; }
DEADLINE=$((SECONDS + ${GPU_CHECK_BUDGET:-540}))
lim() { local want=$1 rem=$((DEADLINE - SECONDS)); [ "$rem" -lt "$want" ] && want=$rem; echo "$want"; }

command -v node >/dev/null || { echo "node is not installed: the tfjs runs and the CLI need it"; exit 1; }
if [ ! -f dist/cli.js ]; then
  if [ -d node_modules ]; then npm run -s build >/dev/null || { echo "npm run build failed"; exit 1; }
  else echo "no dist/ and no node_modules/: run npm ci && npm run build first (or carry dist/)"; exit 1; fi
fi

echo "== GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/  nvidia-smi: /'
else
  echo "  nvidia-smi: not found"
fi
timeout 60 "$PY" - <<'PYEOF' 2>&1 | sed 's/^/  /'
try:
    import torch
except Exception as e:
    print("PyTorch: not importable (%s)" % e)
else:
    print("PyTorch", torch.__version__, "| CUDA available:", torch.cuda.is_available(), "| CUDA", torch.version.cuda)
    for i in range(torch.cuda.device_count()):
        print("  cuda:%d %s" % (i, torch.cuda.get_device_name(i)))
PYEOF
if command -v vulkaninfo >/dev/null; then timeout 30 vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName' | sed 's/^ */  vulkan: /'; fi
vk_loader=$( (ldconfig -p 2>/dev/null | grep -m1 'libvulkan.so.1') || true)
echo "  Vulkan loader: ${vk_loader:-not found (WebGPU on Linux needs libvulkan1)}"
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')
echo "  Vulkan ICDs: ${icds:-none}${VK_ICD_FILENAMES:+ (VK_ICD_FILENAMES=$VK_ICD_FILENAMES)}"

# ---- steps/s
declare -A SPS DEV
torch_run() { # cuda|cpu
  local out t
  t=$(lim 120); [ "$t" -lt 15 ] && { DEV[torch-$1]="skipped: time budget spent"; return; }
  out=$(LAB_TORCH_DEVICE="$1" timeout "$t" "$PY" bench/lab_torch.py "$STEPS" 2>&1 | tail -1)
  SPS[torch-$1]=$(echo "$out" | sed -n 's/.*"stepsPerSecond": \([0-9.e+-]*\).*/\1/p' | awk '{ printf "%.2f", $1 }')
  DEV[torch-$1]=$(echo "$out" | sed -n 's/.*"device": "\([^"]*\)".*/\1/p')
  [ -n "${SPS[torch-$1]:-}" ] || DEV[torch-$1]="failed: $(echo "$out" | tail -c 300)"
}
tfjs_run() { # backend [extra env…]
  local b="$1" out t
  shift
  t=$(lim 150); [ "$t" -lt 15 ] && { DEV[tfjs-$b]="skipped: time budget spent"; return; }
  out=$(env "$@" GPU_CHECK_STEPS="$STEPS" timeout "$t" node dist/cli.js run "$NOTE" --id denoiser --backend "$b" --timeout "$((t - 5))" 2>&1 | grep -v XDG_RUNTIME_DIR)
  SPS[tfjs-$b]=$(echo "$out" | sed -n 's/^tfjs [a-z-]* steps\/s \([0-9.]*\).*/\1/p' | tail -1)
  DEV[tfjs-$b]=$(echo "$out" | sed -n 's/^── denoiser: succeeded in [0-9.]* s (\(.*\))$/\1/p' | tail -1)
  [ -n "${SPS[tfjs-$b]:-}" ] || DEV[tfjs-$b]="failed: $(echo "$out" | grep -m1 -E 'error|not available|failed' | cut -c1-400)"
}

echo "== denoiser training, $STEPS steps per run"
torch_run cuda
torch_run cpu
tfjs_run webgpu
# NVIDIA containers often have the driver but not its Vulkan ICD file (it comes with the
# "graphics" driver capability): point the loader at the driver's own library and try again.
if [ -z "${SPS[tfjs-webgpu]:-}" ] && [ -z "${VK_ICD_FILENAMES:-}" ] && ! echo "$icds" | grep -q nvidia \
   && ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia.so.0'; then
  icd="${TMPDIR:-/tmp}/mln-nvidia_icd.json"
  echo '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}' >"$icd"
  echo "  (no NVIDIA Vulkan ICD file: retrying WebGPU with VK_ICD_FILENAMES=$icd)"
  tfjs_run webgpu VK_ICD_FILENAMES="$icd"
fi
NATIVE_DIR="${TMPDIR:-/tmp}/mln-gpu-check-native"
if [ ! -d "$NATIVE_DIR/node_modules/@tensorflow/tfjs-node-gpu" ] && command -v npm >/dev/null && [ "$(lim 120)" -ge 15 ]; then
  mkdir -p "$NATIVE_DIR"
  echo '{"name":"mln-gpu-check-native","private":true}' >"$NATIVE_DIR/package.json"
  # Its install script downloads libtensorflow (needs the internet, CUDA 11.2 + cuDNN 8.1).
  (cd "$NATIVE_DIR" && timeout "$(lim 120)" npm install --no-audit --no-fund --foreground-scripts @tensorflow/tfjs-node-gpu@4.22.0 @tensorflow/tfjs@4.22.0 >npm.log 2>&1) \
    || echo "  tfjs-node-gpu: npm install failed ($(grep -iE 'npm (error|ERR)|ENOTFOUND|ETIMEDOUT|EAI_AGAIN' "$NATIVE_DIR/npm.log" | head -2 | tr '\n' ' ' | cut -c1-240))"
fi
if [ -d "$NATIVE_DIR/node_modules/@tensorflow/tfjs-node-gpu" ]; then
  tfjs_run tensorflow-gpu MLNOTES_NATIVE_PATHS="$NATIVE_DIR/node_modules"
else
  DEV[tfjs-tensorflow-gpu]="not installable here"
fi
tfjs_run wasm

cpu="${SPS[torch-cpu]:-}"
printf '  %-22s %10s %10s  %s\n' run steps/s "÷ torch" device
for k in torch-cuda torch-cpu tfjs-webgpu tfjs-tensorflow-gpu tfjs-wasm; do
  s="${SPS[$k]:-}"
  r=""
  [ -n "$s" ] && [ -n "$cpu" ] && r=$(awk -v a="$s" -v b="$cpu" 'BEGIN { printf "%.2f", a / b }')
  printf '  %-22s %10s %10s  %s\n' "$k" "${s:-n/a}" "${r:-n/a}" "${DEV[$k]:-}"
done
[ "${DEV[torch-cuda]:-}" = "${DEV[torch-cuda]#cuda}" ] && fail "PyTorch did not train on cuda"
case "${DEV[tfjs-webgpu]:-}" in
  *"webgpu, GPU ("*) ;;
  *) fail "tfjs did not run on a hardware WebGPU adapter (${DEV[tfjs-webgpu]:-})" ;;
esac

# ---- the sample notes' GPU blocks on cuda
echo "== sample notes' GPU blocks (--device cuda)"
note_run() { # note [selector…]; the block must succeed and say it ran on cuda
  local out status what="$*" t
  t=$(lim 240); [ "$t" -lt 15 ] && { fail "$what: skipped, time budget spent"; return; }
  out=$(timeout "$t" node dist/cli.js run "$@" --python "$PY" --device cuda --timeout "$((t - 5))" 2>&1)
  status=$(echo "$out" | sed -n 's/^── \(.*\): \(succeeded\|failed\|cancelled\|timedOut\) in .*/\2/p' | tail -1)
  echo "$out" | grep -E '^(device|rank|steps/s|w =)|error' | head -8 | sed "s|^|  [$(basename "$1")] |"
  if [ "$status" != succeeded ]; then fail "$what: ${status:-did not run}: $(echo "$out" | grep -m1 -E 'failed|error' | cut -c1-240)"
  elif ! echo "$out" | grep -qE 'cuda'; then fail "$what: succeeded but never mentions cuda"
  else echo "  $what: succeeded on cuda"; fi
}
note_run notes/03-score-based-smld.md --id ncsn-train
note_run notes/04-pytorch-ddp-quickstart.md   # its one {run} block: torchrun nproc=2 (nccl on cuda)

echo "(${SECONDS} s)"
[ "$ok" = 1 ] && { echo "GPU check: passed"; exit 0; }
echo "GPU check: not passed (see ! lines)"
exit 1
