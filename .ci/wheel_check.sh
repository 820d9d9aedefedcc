#!/usr/bin/env bash
# CI: the package as a user installs it. Build a wheel, install it (non-editable, no source
# tree on the path) into a fresh venv, and from a directory outside the checkout run a search,
# a G-search on the packaged GradSign table, a 2-searcher experiment and its report.
# The venv sees the system's site-packages, so torch & co. are reused and nothing big downloads;
# the checks below make sure `nasearch` itself is imported from the wheel.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nasearch-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
unset PYTHONPATH
export PYTHONNOUSERSITE=1 NASEARCH_CACHE_DIR="$WORK/cache"
PY="${PYTHON:-python}"

# build from a copy of the source (tracked + new files, not ignored ones): no build/ or
# egg-info is left in the checkout, and nothing the checkout has by accident is shipped
mkdir "$WORK/src"
if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
    (cd "$ROOT" && git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
        [ -f "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -C "$WORK/src" -xf -
else
    cp -r "$ROOT/." "$WORK/src"
fi
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$WORK/src"
"$PY" -m venv --system-site-packages "$WORK/venv"
VPY="$WORK/venv/bin/python"
# --force-reinstall: an editable nasearch of the same version in the system site-packages must not count
"$VPY" -m pip install -q --no-deps --no-index --force-reinstall "$WORK"/dist/nasearch-*.whl

mkdir "$WORK/outside" && cd "$WORK/outside"
"$VPY" - "$WORK/venv" <<'PYEOF'
import sys
from pathlib import Path

import importlib.util

import nasearch, nasearch.proxies.gradsign, nasearch.searchers.evolution, nasearch.spaces.nb201.space  # noqa: F401

venv = Path(sys.argv[1]).resolve()
# nothing installs as a top-level `spaces` or `searchers` (PyPI's `spaces` is someone else's)
for name in ("spaces", "searchers"):
    spec = importlib.util.find_spec(name)
    assert spec is None or venv not in Path(spec.origin or "").resolve().parents, f"the wheel installs {name!r}"
for module in (nasearch, nasearch.searchers.evolution, nasearch.spaces.nb201.space):
    where = Path(module.__file__).resolve()
    assert venv in where.parents, f"{module.__name__} imported from {where}, not from the wheel in {venv}"
print(f"wheel check: nasearch imported from {Path(nasearch.__file__).parent}")
PYEOF
NAS="$WORK/venv/bin/nasearch"
"$NAS" run rea --runs 2 --budget 2000 --out "$WORK/outside/rea"
"$NAS" run g_rea --runs 2 --budget 2000 --out "$WORK/outside/g_rea"   # packaged GradSign table, no data
"$VPY" -m nasearch run configs/rs.yaml --runs 1 --budget 1000 --out "$WORK/outside/rs"
cat > tiny.yaml <<'YAML'
label: tiny
runs: 3
budget_seconds: 2000
workers: 1
out: tiny_out
searchers:
  - config: rea
  - config: g_rea
YAML
"$NAS" experiment tiny.yaml
"$NAS" report tiny_out
test -s tiny_out/report.md && test -s tiny_out/g_rea/runs.jsonl
test "$(wc -l < tiny_out/g_rea/runs.jsonl)" -eq 3
grep -q '"pool_draws":[1-9]' g_rea/runs.jsonl   # the hook scored candidates from the packaged table
"$VPY" -c "import nasearch as ns; r = ns.search('rea', runs=1, budget_seconds=1000, out='api_rea'); assert len(r) == 1"

# beside PyPI's `spaces` distribution (Hugging Face's): nasearch's wheel owns no top-level `spaces` or
# `searchers` file, so installing both leaves each package where its own distribution put it. (PyPI's
# `spaces` imports gradio, which is not installed here: its module is located, not imported.)
"$PY" - "$WORK"/dist/nasearch-*.whl <<'PYEOF'
import sys, zipfile
top = sorted({name.split("/")[0] for name in zipfile.ZipFile(sys.argv[1]).namelist()})
assert not {"spaces", "searchers"} & set(top), f"the wheel ships a top-level spaces/searchers: {top}"
PYEOF
if "$VPY" -m pip install -q --no-deps spaces > "$WORK/spaces.log" 2>&1; then
    "$VPY" - <<'PYEOF'
import importlib.util
from pathlib import Path

import nasearch.spaces.nb201.space  # ours, under our namespace

origin = Path(importlib.util.find_spec("spaces").origin)
assert not (origin.parent / "protocol.py").exists(), f"top-level spaces at {origin} is nasearch's"
print(f"wheel check: PyPI's spaces ({origin.parent}) and nasearch.spaces ({Path(nasearch.spaces.__file__).parent}) side by side")
PYEOF
else
    echo "wheel check: PyPI's spaces could not be installed here (no registry?); side-by-side check skipped" >&2
fi
echo "wheel check: OK"
