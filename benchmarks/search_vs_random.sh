#!/usr/bin/env bash
# NSGA-II (sweep search) against random sampling (sweep sample) at equal budget on the
# battle space: GENERATIONS x POPULATION architectures each, 2 seeds of each sampler, every one
# trained with the same recipe on animals; the hypervolume of each study's top-1/MACs front:
#   benchmarks/search_vs_random.py OUT
# Usage: benchmarks/search_vs_random.sh OUT [GENERATIONS] [POPULATION] [EPOCHS] [TRAIN_IMAGES]
set -euo pipefail
OUT=${1:?usage: search_vs_random.sh OUT [GENERATIONS] [POPULATION] [EPOCHS] [TRAIN_IMAGES]}
G=${2:-3}; P=${3:-4}; EPOCHS=${4:-2}; TRAIN=${5:-1000}
SPACHC=${SPACHC:-.venv/bin/spachc}
FLAGS=(--data animals --recipe quick --epochs "$EPOCHS" --warmup-epochs 1 --limit-train "$TRAIN" --limit-val 1000
       --seeds 0 --device cpu --workers 0 --no-throughput --log-every 1000)
for seed in 0 1; do
  (
    "$SPACHC" sweep sample battle -n $((G * P)) --seed "$seed" -o "$OUT/random$seed"
    "$SPACHC" sweep run "$OUT/random$seed" "${FLAGS[@]}"
  ) > "$OUT.random$seed.log" 2>&1 &
  (
    for g in $(seq 1 "$G"); do
      "$SPACHC" sweep search battle -n $((g * P)) --population "$P" --seed "$seed" --objectives top1,macs \
        -o "$OUT/nsga$seed"
      "$SPACHC" sweep run "$OUT/nsga$seed" "${FLAGS[@]}"
    done
    "$SPACHC" sweep search battle -n $((G * P)) --population "$P" --seed "$seed" --objectives top1,macs \
      -o "$OUT/nsga$seed"   # tells the last generation
  ) > "$OUT.nsga$seed.log" 2>&1 &
done
wait
for s in "$OUT"/random0 "$OUT"/random1 "$OUT"/nsga0 "$OUT"/nsga1; do "$SPACHC" sweep report "$s"; done
