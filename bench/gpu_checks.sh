#!/bin/bash
# A lent GPU's second script (numbers in BENCHMARKS.md), for what bench/gpu.sh left open:
#   1. the swap data pipeline against resident data on the GPU (bench/swap.py pipeline);
#   2. bf16 against float32 swap training from one seed (bench/swap.py precision);
#   3. the self-blend detector's spread over training seeds: runs of the default recipe
#      (re-renderer, then detector, then calibration) on the real faces of the detection
#      benchmark, side by side, seeds 0-5, and seeds 1-2 with the re-renderer trained with
#      Adam's β1 = 0.5 (the loop's default before the re-renderer asked for 0.9); their
#      weights come back in one archive and are scored here
#      (python bench/detect_real.py sbseeds --size 128 --write, after unpacking into
#      runs/detect/real/sbseeds). Self-blend training is bound by its batches, made on the
#      CPU: on the H100 machine's CPU one run took about 7 minutes (re-renderer ~14 steps/s,
#      detector ~8 steps/s per process), so a 15-minute lease fits one round of runs at most.
# Needs the pack carried in runs/gpu3 (python bench/detect_real.py pack: the benchmark's real
# train/val crops and 200 faces of each swap faceset, about 53 MB).
#   bash bench/gpu_checks.sh
set -u
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
PY=${PY:-python3}
PACK=${PACK:-runs/gpu3}
RUNS=${RUNS-"s0 s1 s2 s3 s4 s5 b1 b2"}  # sN: default recipe, seed N; bN: beta1 0.5
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | tee "$OUT/log.txt"
date -u +%T | tee -a "$OUT/log.txt"
timeout 150 $PY bench/swap.py pipeline --a "$PACK/fs_d6" --b "$PACK/fs_d14" --device cuda 2>&1 \
    | grep -v Warning | tail -8 | tee -a "$OUT/log.txt"
date -u +%T | tee -a "$OUT/log.txt"
mkdir -p /tmp/sb
for r in $RUNS; do
  OMP_NUM_THREADS=2 timeout 500 $PY -c "
import json
import twoface.models.rerender as rr
from twoface.train.detector import train_detector
from twoface.train.loop import TrainOptions
if '$r'.startswith('b'):
    rr.Rerenderer.adam_betas = (0.5, 0.999)
r = train_detector('$PACK/ds', '/tmp/sb/$r', model='selfblend', batch=32, seed=int('$r'[1:]),
                   overrides={'size': 128},
                   options=TrainOptions(steps=1500, preview_every=0, progress=False))
print('$r', json.dumps(r['calibration']), r['seconds'])
" > "/tmp/sb/$r.log" 2>&1 &
done
timeout 300 $PY bench/swap.py precision --a "$PACK/fs_d6" --b "$PACK/fs_d14" --device cuda \
    --steps 1200 2>&1 | grep -v Warning | tail -4 | tee -a "$OUT/log.txt"
wait
date -u +%T | tee -a "$OUT/log.txt"
tail -q -n 2 /tmp/sb/*.log | tee -a "$OUT/log.txt"
tail -q -n 1 /tmp/sb/*/rerender/log.csv | tee -a "$OUT/log.txt"
(cd /tmp/sb && tar czf "$OUT/sbseeds.tgz" --exclude=state.safetensors --exclude='*.log' \
    --exclude=rerender/model.safetensors .)
cp BENCHMARKS.md "$OUT/BENCHMARKS.md"
ls -la "$OUT"
