#!/usr/bin/env bash
# The whole mission on one GPU, in one call: bash benchmarks/gpu_check.sh [--dry-run] OUT_DIR
#
# What it runs, each section under `timeout` inside one overall time budget, going on after a
# failure and recording it (status, exit code, seconds) in OUT_DIR/summary.json:
#   env             python, torch, CUDA device, nvidia-smi; installs the missing wheels (below)
#   pytest          the CUDA-marked tests (tests/e2e/test_cuda.py) with SPACHC_TEST_DEVICE=cuda:
#                   every block kind forward+backward in fp32 and bf16 against CPU fp32, a real
#                   one-process torchrun training through DDP on NCCL, export of its weights
#   bench_train     spachc bench hybrid_s --device cuda --mode train --amp bf16 --compile --batch-size 128
#   bench_infer     the same, --mode infer --batch-size 256 (compiled with CUDA graphs)
#                   both report achieved TFLOP/s and their share of the dense bf16 matmul rate
#                   measured in the same process (the MFU figure)
#   reference       benchmarks/reference_speed.py: the paper-style reference (tests/support/reference_spach.py)
#                   and eager spachc at the same batches, bf16 and fp32, timed by the same code
#   digits_train    3 epochs on the built-in digits on the GPU (--compile, --channels-last, bf16)
#   digits_eval     spachc eval of the trained weights on the GPU
#   digits_export   spachc export to ONNX and safetensors (verified against onnxruntime)
#   digits_predict  spachc predict on PNG files, where the command exists
#   profile         benchmarks/profile_step.py: the compiled training step's GPU time by kernel kind
#   summary         benchmarks/gpu_report.py summary: OUT_DIR/summary.json
#
# Files written to OUT_DIR (the device returns at most 8, 16 MiB each):
#   summary.json  the figures that matter and every section's status
#   log.txt       everything printed, in order      pytest.txt  the pytest output
#   bench.jsonl   the two `spachc bench --json` reports     reference.json  reference_speed.py's figures
#   digits.json   training history, eval, export and predict results     curves.png  the digits curves
#
# How it runs on the GPU machine (Python 3.12, CUDA torch, onnx, onnxruntime, safetensors, typer,
# rich, einops, numpy, pillow, pytest; no lark, pydantic or jsonschema; no internet):
#   - The missing wheels travel with the repository: before the device call, copy them into the
#     git-ignored folder .whl/ of the checkout (cp ../shared/gpu-wheels/*.whl .whl/) and name
#     ".whl" in the call's carry. If `import lark, pydantic` fails, this script installs them
#     with `pip install --no-index --no-deps --target` into a temporary folder (or, without pip,
#     unpacks them there: a wheel is a zip file) and puts that folder on PYTHONPATH.
#   - spachc is not installed: PYTHONPATH=<repo> and `python3 -m spachc ...` run it from the
#     checkout (grammar/ and specs/ are found beside the package).
#   Device command:  bash benchmarks/gpu_check.sh "$OUT"      (carry [".whl"], timeout_s 480)
# Exit status: 0 when every section passed, 1 otherwise; OUT_DIR/summary.json says which.
#
# --dry-run: the same sections with device cpu and tiny sizes (hybrid_s at input 32 and dim 16,
# 1 digits epoch at input 16, no --compile: inductor's CPU compile takes minutes here), so that
# everything but the GPU itself is exercised on CPU; tests/e2e/test_gpu_check.py runs it in CI.
#
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET_S (overall budget, default 420 s),
# GPU_CHECK_ONLY (comma-separated section names: rerun just those; env and summary always run).

set -u -o pipefail

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
if [[ $# -ne 1 ]]; then
    echo "usage: bash benchmarks/gpu_check.sh [--dry-run] OUT_DIR" >&2
    exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "cannot create $1" >&2; exit 2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET_S:-420}
ONLY=${GPU_CHECK_ONLY:-}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
export PYTHONUNBUFFERED=1 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
: > "$OUT/log.txt"
: > "$WORK/sections.jsonl"
exec > >(tee -a "$OUT/log.txt") 2>&1
TEE_PID=$!

if [[ $DRY == 1 ]]; then
    DEVICE=cpu
    MODEL_SET=(--set dim=16 --set input=32)
    TRAIN_BATCH=2 INFER_BATCH=4 STEPS=(--steps 2 --warmup 1) COMPILE=()
    REF_ARGS=(--amps bf16 --steps 1 --warmup 1)
    PROFILE_STEPS=(--steps 1 --warmup 1)
    DIGITS=(--epochs 1 --batch-size 64 --set input=16 --workers 0)
else
    DEVICE=cuda
    MODEL_SET=()
    TRAIN_BATCH=128 INFER_BATCH=256 STEPS=(--steps 20 --warmup 5) COMPILE=(--compile)
    REF_ARGS=(--amps bf16 off --steps 10 --warmup 3)
    PROFILE_STEPS=(--steps 3 --warmup 3)
    DIGITS=(--epochs 3 --batch-size 32 --workers 4 --compile)
fi
export SPACHC_TEST_DEVICE=$DEVICE
START=$SECONDS

# section NAME CAP_S COMMAND...: run COMMAND under timeout min(CAP_S, budget left) and record it.
section() {
    local name=$1 cap=$2; shift 2
    if [[ -n "$ONLY" && ",$ONLY," != *",$name,"* ]]; then
        return 0
    fi
    local left=$((BUDGET - (SECONDS - START))) limit=$cap status rc begun=$SECONDS
    (( left < limit )) && limit=$left
    echo
    local shown="$*"
    echo "=== [$name] $(date -u +%H:%M:%S) limit ${limit}s: ${shown:0:240}"
    if (( limit < 5 )); then
        status=skipped rc=-1
        echo "=== [$name] skipped: the ${BUDGET}s budget is spent"
    else
        timeout --kill-after=10 "$limit" "$@"
        rc=$?
        if (( rc == 0 )); then status=ok; elif (( rc == 124 || rc == 137 )); then status=timeout; else status=failed; fi
        echo "=== [$name] $status (exit $rc) after $((SECONDS - begun))s"
    fi
    printf '{"name": "%s", "status": "%s", "exit": %d, "seconds": %d, "limit_s": %d}\n' \
        "$name" "$status" "$rc" "$((SECONDS - begun))" "$limit" >> "$WORK/sections.jsonl"
}

env_section() {
    "$PY" --version
    if ! "$PY" -c "import lark, pydantic" 2>/dev/null; then
        [[ -d .whl ]] || { echo "lark/pydantic missing and no .whl/ folder carried"; return 1; }
        local site="$WORK/site"
        mkdir -p "$site"
        if ! "$PY" -m pip install -q --no-index --no-deps --target "$site" .whl/*.whl; then
            echo "pip failed; unpacking the wheels instead"
            for w in .whl/*.whl; do "$PY" -m zipfile -e "$w" "$site" || return 1; done
        fi
        echo "PYTHONPATH+=$site"
        echo "$site" > "$WORK/site_path"
    fi
    [[ -f "$WORK/site_path" ]] && export PYTHONPATH="$PYTHONPATH:$(cat "$WORK/site_path")"
    "$PY" -c "import json, platform, torch, spachc; c = torch.cuda.is_available(); print(json.dumps({
        'python': platform.python_version(), 'torch': torch.__version__, 'cuda': torch.version.cuda,
        'cuda_available': c, 'spachc': spachc.__version__,
        'device_name': torch.cuda.get_device_name(0) if c else None}))" || return 1
    echo "C compiler (Triton builds its launcher with it): $(command -v cc gcc | head -n 1)"
    if [[ $DEVICE == cuda ]]; then
        nvidia-smi || true
        "$PY" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'" || return 1
    fi
}

ONLY="" section env 60 bash -c "$(declare -f env_section); PY='$PY' WORK='$WORK' DEVICE='$DEVICE' env_section"
# The env section may have installed wheels: later sections see them too.
[[ -f "$WORK/site_path" ]] && export PYTHONPATH="$PYTHONPATH:$(cat "$WORK/site_path")"

section pytest 150 bash -o pipefail -c "'$PY' -m pytest -q -p no:cacheprovider -m cuda tests/e2e/test_cuda.py 2>&1 | tee '$OUT/pytest.txt'"

# bench MODE BATCH CAP: spachc bench hybrid_s, compiled on the GPU; if that fails (a compiler
# missing on the machine, an inductor error), the same bench again without --compile, so that
# the run still brings back figures (its JSON says compile false).
bench() {
    local mode=$1 batch=$2 cap=$3
    section "bench_$mode" "$cap" bash -c "'$PY' -m spachc bench hybrid_s ${MODEL_SET[*]} --device $DEVICE --mode $mode \
        --amp bf16 ${COMPILE[*]} --batch-size $batch ${STEPS[*]} --json > '$WORK/bench_$mode.json'"
    if [[ ${#COMPILE[@]} -gt 0 ]] && ! tail -n 1 "$WORK/sections.jsonl" | grep -q '"status": "ok"' \
            && tail -n 1 "$WORK/sections.jsonl" | grep -q "\"bench_$mode\""; then
        section "bench_${mode}_eager" 60 bash -c "'$PY' -m spachc bench hybrid_s ${MODEL_SET[*]} --device $DEVICE --mode $mode \
            --amp bf16 --batch-size $batch ${STEPS[*]} --json > '$WORK/bench_$mode.json'"
    fi
}
bench train "$TRAIN_BATCH" 210
bench infer "$INFER_BATCH" 150
section reference 120 "$PY" benchmarks/reference_speed.py --model hybrid_s "${MODEL_SET[@]}" --device "$DEVICE" \
    --infer-batch "$INFER_BATCH" --train-batch "$TRAIN_BATCH" "${REF_ARGS[@]}" --json "$OUT/reference.json"

RUN="$WORK/digits_run"
section digits_train 150 "$PY" -m spachc train benchmarks/digits_small.spach --data digits --recipe quick \
    --lr 3e-3 --warmup-epochs 1 --device "$DEVICE" --amp bf16 --channels-last --log-every 20 \
    "${DIGITS[@]}" --out "$RUN"
section digits_eval 60 bash -c "'$PY' -m spachc eval '$RUN/last.safetensors' --weights '$RUN/last.safetensors' \
    --data digits --device $DEVICE --workers 0 --json > '$WORK/digits_eval.json'"
section digits_export 90 "$PY" -m spachc export "$RUN/last.safetensors" --onnx "$WORK/digits.onnx" \
    --safetensors "$WORK/digits.safetensors"

predict_section() {
    "$PY" -m spachc predict --help > /dev/null 2>&1 || { echo "no predict command in this checkout"; return 3; }
    "$PY" benchmarks/gpu_report.py pngs "$WORK/pngs" || return 1
    "$PY" -m spachc predict "$RUN/last.safetensors" "$WORK"/pngs/*.png --json > "$WORK/predict.json" || return 1
    if "$PY" -m spachc predict --help 2>/dev/null | grep -q -- "--onnx"; then
        "$PY" -m spachc predict "$WORK/digits.onnx" "$WORK"/pngs/*.png --onnx --json > "$WORK/predict_onnx.json" \
            || echo "predict --onnx failed (recorded in digits.json)"
    fi
}
section digits_predict 60 bash -c "$(declare -f predict_section); PY='$PY' WORK='$WORK' RUN='$RUN' predict_section"

# Last, with what is left of the budget: where the compiled training step's GPU time goes (the
# inductor cache from bench_train makes its compilation short).
section profile 90 "$PY" benchmarks/profile_step.py --model hybrid_s "${MODEL_SET[@]}" --device "$DEVICE" --mode train \
    --amp bf16 "${COMPILE[@]}" --batch "$TRAIN_BATCH" "${PROFILE_STEPS[@]}" --json "$WORK/profile.json"

ONLY="" BUDGET=$((SECONDS - START + 60)) section summary 60 "$PY" benchmarks/gpu_report.py summary "$OUT" "$WORK"
echo "gpu_check done in $((SECONDS - START))s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
rm -rf "$WORK"
# Exit 0 only when every section passed (a missing predict command counts as passed).
"$PY" -c "import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))['all_ok'] else 1)" "$OUT/summary.json"
rc=$?
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null  # log.txt complete before the device collects OUT_DIR
exit $rc
