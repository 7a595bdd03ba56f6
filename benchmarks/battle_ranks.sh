#!/usr/bin/env bash
# Issue 21: do 2 epochs rank architectures as 18 do? 12 architectures of the battle space
# (4 per family, --stratify family), each trained as a complete schedule of 2 and of 18 epochs
# (two studies of the same samples), on 2,000 animals training images, 1,000 validation images.
# The ranks and their Spearman correlation: benchmarks/battle_ranks.py OUT.
# Usage: benchmarks/battle_ranks.sh OUT   (OUT: a fresh folder; about an hour on 2 loaded cores)
set -euo pipefail
OUT=${1:?usage: battle_ranks.sh OUT}
SPACHC=${SPACHC:-.venv/bin/spachc}
FLAGS=(--data animals --recipe quick --warmup-epochs 1 --limit-train 2000 --limit-val 1000 --seeds 0
       --device cpu --workers 0 --no-throughput --log-every 1000)
"$SPACHC" sweep sample battle -n 12 --seed 0 --stratify family -o "$OUT/e2"
"$SPACHC" sweep sample battle -n 12 --seed 0 --stratify family -o "$OUT/e18"
date -u +"start e2 %FT%TZ"
"$SPACHC" sweep run "$OUT/e2" "${FLAGS[@]}" --epochs 2
date -u +"start e18 %FT%TZ"
"$SPACHC" sweep run "$OUT/e18" "${FLAGS[@]}" --epochs 18
date -u +"end %FT%TZ"
"$SPACHC" sweep report "$OUT/e2"
"$SPACHC" sweep report "$OUT/e18"
