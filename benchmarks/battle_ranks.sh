#!/usr/bin/env bash
# Do 2 epochs rank architectures as 18 do? 12 architectures of the battle space
# (4 per family, --stratify family), each trained as a complete schedule of 2 and of 18 epochs
# (two studies of the same samples), on 1,000 animals training images, 1,000 validation images,
# seed 0. Three processes at once: the 2-epoch study and two shards of the 18-epoch one.
# The ranks and their Spearman correlation: benchmarks/battle_ranks.py OUT.
# Usage: benchmarks/battle_ranks.sh OUT   (OUT: a fresh folder; about an hour on 2 loaded cores)
set -euo pipefail
OUT=${1:?usage: battle_ranks.sh OUT}
SPACHC=${SPACHC:-.venv/bin/spachc}
FLAGS=(--data animals --recipe quick --warmup-epochs 1 --limit-train 1000 --limit-val 1000 --seeds 0
       --device cpu --workers 0 --no-throughput --log-every 1000)
"$SPACHC" sweep sample battle -n 12 --seed 0 --stratify family -o "$OUT/e2"
"$SPACHC" sweep sample battle -n 12 --seed 0 --stratify family -o "$OUT/e18"
date -u +"start %FT%TZ"
"$SPACHC" sweep run "$OUT/e2" "${FLAGS[@]}" --epochs 2 > "$OUT/e2.log" 2>&1 &
"$SPACHC" sweep run "$OUT/e18" "${FLAGS[@]}" --epochs 18 --shard 1/2 > "$OUT/e18_1.log" 2>&1 &
"$SPACHC" sweep run "$OUT/e18" "${FLAGS[@]}" --epochs 18 --shard 2/2 > "$OUT/e18_2.log" 2>&1 &
wait
date -u +"end %FT%TZ"
"$SPACHC" sweep report "$OUT/e2"
"$SPACHC" sweep report "$OUT/e18"
