#!/usr/bin/env bash
# Does GradSign help on the digits space? REA vs G-REA (proxy charged / free), 30 paired runs,
# at three training budgets (CPU seconds). Run from the repository root:
#   bash examples/digits_experiment.sh
# First run trains all 162 archs (~2-5 min, cached under $NASEARCH_CACHE_DIR/digits_training);
# later runs replay the cached (accuracy, seconds) and repeat exactly.
set -euo pipefail
export NASEARCH_CACHE_DIR=${NASEARCH_CACHE_DIR:-results/digits_cache}
rm -rf results/exp_digits_*  # start over: run dirs resume, and would keep runs made with other cached seconds
python examples/make_tabular_demo.py --cache-dir "$NASEARCH_CACHE_DIR" --out results/digits_table.csv  # Spearman
for budget in 2 5 10; do
  for config in digits_rea digits_g_rea digits_g_rea_lookup; do
    python run_search.py configs/examples/$config.yaml --budget $budget --out results/exp_${config}_b$budget | tail -2
  done
  for assisted in digits_g_rea digits_g_rea_lookup; do
    python examples/compare.py results/exp_digits_rea_b$budget/runs.jsonl results/exp_${assisted}_b$budget/runs.jsonl --metric digits_test
    python examples/compare.py results/exp_digits_rea_b$budget/runs.jsonl results/exp_${assisted}_b$budget/runs.jsonl --after-evaluations 5
  done
done
