#!/usr/bin/env bash
# One-shot GPU check of nasearch (issue 15). Run once on a machine with a CUDA GPU, from the repo root:
#
#     OUT=/tmp/gpu_out bash scripts/gpu_check.sh --data ../shared/data/cifar10_sample.npz
#
# Writes under $OUT (default ./gpu_check_out): env.txt, pytest_gpu.txt, proxy_speed.txt,
# precompute.txt, compare.txt, g_rea_synflow_cuda.txt and summary.md (paste it into docs/gpu.md).
# Budget ~8 minutes on one H200: each step has its own timeout; the precompute step is resumable and
# capped (PRECOMPUTE_SECONDS, default 210), and the comparison covers whatever it finished.
set -u
DATA=../shared/data/cifar10_sample.npz
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    *) echo "gpu_check: unknown argument $1 (use --data PATH.npz)"; exit 2 ;;
  esac
done
OUT="${OUT:-./gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export CUBLAS_WORKSPACE_CONFIG=:4096:8
WORK="$(mktemp -d)"
PRECOMPUTE_SECONDS="${PRECOMPUTE_SECONDS:-210}"
NASEARCH='import sys; from nasearch.cli import main; sys.exit(main(sys.argv[1:]))'
step() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/summary.md"; }

{
  date -u; uname -a; nvidia-smi || true; nproc
  python -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])'
  git log -1 --oneline 2>/dev/null || true
  ls -l "$DATA" || echo "NO DATA at $DATA: the precompute and data-based proxies cannot run"
} > "$OUT/env.txt" 2>&1
echo "# GPU check $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$OUT/summary.md"
tail -n 3 "$OUT/env.txt" >> "$OUT/summary.md"

step "1/4 GPU tests (pytest -m gpu, CPU vs CUDA per proxy)"
timeout 100 python -m pytest -q -p no:cacheprovider -m gpu -s -rs tests/test_device.py > "$OUT/pytest_gpu.txt" 2>&1
echo "rc=$?" >> "$OUT/pytest_gpu.txt"
grep -E "max rel diff|passed|failed|skipped|rc=" "$OUT/pytest_gpu.txt" >> "$OUT/summary.md"

step "2/4 proxy speed on cuda: loop vs fast vs vmap, batch 64 and 128, training-step yardstick"
timeout 130 python benchmarks/proxy_speed.py --device cuda --archs 10 --batch-sizes 64 128 --data "$DATA" \
  > "$OUT/proxy_speed.txt" 2>&1
echo "rc=$?" >> "$OUT/proxy_speed.txt"
cat "$OUT/proxy_speed.txt" >> "$OUT/summary.md"

step "3/4 whole-space GradSign b128 precompute on one GPU (capped at ${PRECOMPUTE_SECONDS}s, resumable) vs the CPU table"
# an empty --tables-dir: otherwise the packaged CPU table counts as done and nothing is computed
start=$(date +%s)
timeout "$PRECOMPUTE_SECONDS" python -c "$NASEARCH" precompute --proxy gradsign --batch-size 128 --seed 0 \
  --data "$DATA" --device cuda:0 --cache-dir "$WORK/cache" --tables-dir "$WORK/tables" --quiet \
  > "$OUT/precompute.txt" 2>&1
echo "rc=$? wall_s=$(( $(date +%s) - start ))" >> "$OUT/precompute.txt"
cat "$OUT/precompute.txt" >> "$OUT/summary.md"
python benchmarks/compare_table.py --cache-dir "$WORK/cache" > "$OUT/compare.txt" 2>&1
cat "$OUT/compare.txt" >> "$OUT/summary.md"

step "4/4 run_search.py configs/g_rea.yaml with hook.proxy synflow (not packaged), hook.device cuda"
python - "$WORK" <<'PY'
import sys, yaml
work = sys.argv[1]
config = yaml.safe_load(open("configs/g_rea.yaml"))
config["hook"].update(proxy="synflow", device="cuda")
config.update(runs=2, out=f"{work}/g_rea_synflow", cache_dir=f"{work}/cache")
yaml.safe_dump(config, open(f"{work}/g_rea_synflow.yaml", "w"))
PY
timeout 90 python run_search.py "$WORK/g_rea_synflow.yaml" > "$OUT/g_rea_synflow_cuda.txt" 2>&1
echo "rc=$?" >> "$OUT/g_rea_synflow_cuda.txt"
python -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print('runs', len(r), 'proxy_device', r[0].get('proxy_device'), 'proxy_clock', r[0].get('proxy_clock'), 'proxy_seconds', [x['proxy_seconds'] for x in r])" \
  "$WORK/g_rea_synflow/runs.jsonl" >> "$OUT/g_rea_synflow_cuda.txt" 2>&1
tail -n 4 "$OUT/g_rea_synflow_cuda.txt" >> "$OUT/summary.md"
step "done"
rm -rf "$WORK"
