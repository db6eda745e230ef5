#!/usr/bin/env bash
# The GPU measurements of issues #3 / #4 / #6 (session 4 ran step 1 and parts of step 2 on an H100).
# From the repository root on a CUDA machine:
#
#   bash benchmarks/gpu_run.sh              # everything below, in order (hours)
#   STEPS_ONLY=1 bash benchmarks/gpu_run.sh # only the speed / memory benchmarks (minutes)
#
# Writes results/step_time_gpu.json, results/head_speed_gpu.json and, per training run, the
# small files of runs/<name>/ (metrics.json, history.json, config.json, samples.png,
# loss_curves.png) to results/<name>/, which notebook 03 shows.  Checkpoints stay in runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MIXGAN_MIRROR=${MIXGAN_MIRROR:-/work/shared/data}

publish() {  # publish runs/NAME -> results/NAME (small files only)
    mkdir -p "results/$1"
    for f in metrics.json history.json config.json samples.png loss_curves.png; do
        if [ -f "runs/$1/$f" ]; then cp "runs/$1/$f" "results/$1/"; fi
    done
}

# 1. seconds per generator iteration (batch 128, 5 critic steps, MNIST-32) and peak memory
$PY benchmarks/step_time.py --rounds 3 --warmup 5 --iters 20 --json results/step_time_gpu.json
$PY benchmarks/head_speed.py --reps 200 --json results/head_speed_gpu.json
if [ "${STEPS_ONLY:-0}" = 1 ]; then exit 0; fi

# 2. issue #6 at paper scale -> results/analysis/*_full*.* (sessions 4-5 on one H100, 3-5 jobs sharing it: a
#    12k-step clustering run with 5 self-training rounds and k-means ~7 min, the tree run ~70 s per 1k steps
#    per model; BENCHMARKS.md)
for seed in 0 1 2 3; do
    $PY benchmarks/analysis_targets.py cluster --full --seed $seed $( [ $seed != 0 ] && echo --tag seed$seed )
done
$PY benchmarks/analysis_targets.py cluster --full --data fashionmnist
$PY benchmarks/analysis_targets.py sigma --full --progress          # needs cluster --full's checkpoint
$PY benchmarks/analysis_targets.py tree --full --progress           # 50k WGAN-GP steps per model: about 1 h each

# 3. HMoG depth 4 on MNIST until the domain FID stops improving: FID on 5,000 samples every
#    1,000 steps, stop after 5 evaluations without a new best (best weights: runs/hmog_d4_mnist/best.pt)
$PY -m mixgan.train --model hmog --data mnist --depth 4 --steps 200000 --eval-every 1000 --eval-samples 5000 \
    --patience 5 --checkpoint-every 1000 --sample-every 1000 --out runs/hmog_d4_mnist \
    $( [ -f runs/hmog_d4_mnist/ckpt.pt ] && echo --resume )
publish hmog_d4_mnist

# 4. the paper's setting (HMoG depth 5, MoG K=32, FC; base 64, 250 epochs) on MNIST and Fashion-MNIST
for data in mnist fashion; do
    for spec in "hmog --depth 5" "mog --K 32" "fc"; do
        name="${spec%% *}_${data}"
        $PY -m mixgan.train --model $spec --data $data --epochs 250 --checkpoint-every 2000 --sample-every 2000 \
            --out "runs/$name" $( [ -f "runs/$name/ckpt.pt" ] && echo --resume )
        publish "$name"
    done
done
