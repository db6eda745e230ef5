#!/usr/bin/env bash
# The GPU measurements: step time, tree-head speed, the analysis targets at paper scale, image training.
# From the repository root on a CUDA machine:
#
#   bash benchmarks/gpu_run.sh              # everything below, in order (hours)
#   STEPS_ONLY=1 bash benchmarks/gpu_run.sh # only the speed / memory benchmarks (minutes)
#
# Stores, each with its entry in results/MANIFEST.json (mixgan.results): step_time/gpu, head_speed/gpu,
# the analysis targets (cluster/…, sigma/…, tree/…) and, per training run, the small files of runs/<name>/
# (metrics.json, history.json, config.json, samples.png, loss_curves.png) as runs/<name>, which notebook 03
# shows.  Checkpoints stay in runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MIXGAN_MIRROR=${MIXGAN_MIRROR:-/work/shared/data}

record() {  # record KEY FILE KIND WHAT COMMAND: a manifest entry for a file already under results/
    $PY -c 'import sys; from mixgan import results; k, f, kind, what, cmd = sys.argv[1:]
results.record(k, f, what, cmd, kind=kind, machine=results.describe_machine("cuda"))' "$@"
}

publish() {  # publish runs/NAME -> results/NAME (small files only), recorded as runs/NAME
    mkdir -p "results/$1"
    for f in metrics.json history.json config.json samples.png loss_curves.png; do
        if [ -f "runs/$1/$f" ]; then cp "runs/$1/$f" "results/$1/"; fi
    done
    record "runs/$1" "$1" run "the training run runs/$1 (its small files)" "$2"
}

# 1. seconds per generator iteration (batch 128, 5 critic steps, MNIST-32) and peak memory
$PY benchmarks/step_time.py --rounds 3 --warmup 5 --iters 20 --json results/step_time_gpu.json
record step_time/gpu step_time_gpu.json json "seconds per training step and peak memory (GPU)" \
    "python benchmarks/step_time.py --rounds 3 --warmup 5 --iters 20 --json results/step_time_gpu.json"
$PY benchmarks/head_speed.py --reps 200 --json results/head_speed_gpu.json
record head_speed/gpu head_speed_gpu.json json "tree-head speed against a GEMM of the same FLOPs (GPU)" \
    "python benchmarks/head_speed.py --reps 200 --json results/head_speed_gpu.json"
if [ "${STEPS_ONLY:-0}" = 1 ]; then exit 0; fi

# 2. the analysis targets at paper scale -> results keys cluster/<data>/full*, sigma/mnist/full, tree/mnist/full
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
publish hmog_d4_mnist "python -m mixgan.train --model hmog --data mnist --depth 4 --steps 200000 --eval-every 1000 --eval-samples 5000 --patience 5 --out runs/hmog_d4_mnist"

# 4. the paper's setting (HMoG depth 5, MoG K=32, FC; base 64, 250 epochs) on MNIST and Fashion-MNIST
for data in mnist fashion; do
    for spec in "hmog --depth 5" "mog --K 32" "fc"; do
        name="${spec%% *}_${data}"
        $PY -m mixgan.train --model $spec --data $data --epochs 250 --checkpoint-every 2000 --sample-every 2000 \
            --out "runs/$name" $( [ -f "runs/$name/ckpt.pt" ] && echo --resume )
        publish "$name" "python -m mixgan.train --model $spec --data $data --epochs 250 --out runs/$name"
    done
done
