"""GradSign's Table 4: Kendall tau of gradsign, grad_norm, synflow, naswot on NDS's five CIFAR-10 cell sweeps.

For each design it runs ``nasearch correlate --space nds --space-arg path=<NDS dir>/<File>.json
--proxies gradsign,grad_norm,synflow,naswot --batch-size 64`` (every score cached: a killed run
resumes, a rerun is free), then writes ``<out>/table4.md`` and ``table4.csv``: our tau against the
final test accuracy beside the paper's (``nasearch/data/papers/gradsign_iclr2022.yaml, table4``; "?" where
that file has no figure).

    python scripts/nds_table4.py --nds-dir ~/data/nds --data ../shared/data/cifar10_sample.npz \\
        --out docs/correlation/nds [--n 1000] [--designs darts,enas] [--workers 2]

``--n`` (default: every record of each file) scores a seeded sample of that many records.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml

FILES = {"nasnet": "NASNet.json", "amoeba": "Amoeba.json", "pnas": "PNAS.json", "enas": "ENAS.json", "darts": "DARTS.json"}
PROXIES = ("gradsign", "grad_norm", "synflow", "naswot")
PAPER = "gradsign_iclr2022#table4"  # nasearch/data/papers/gradsign_iclr2022.yaml


def paper_figures(reference: str = PAPER) -> dict[str, dict[str, float | None]]:
    from nasearch.analysis.reference import load_table

    return load_table(reference).rows


def table(ours: dict[str, dict[str, tuple[float, int]]], designs: list[str], proxies: list[str],
          paper: dict[str, dict[str, float | None]]) -> str:
    """Markdown: one row per proxy, per design ``ours (paper)`` tau and n."""
    fmt = lambda v: "?" if v is None else f"{v:.3f}"
    lines = ["| proxy | " + " | ".join(f"{d} τ (paper) | n" for d in designs) + " |",
             "|---|" + "---:|---:|" * len(designs)]
    for proxy in proxies:
        cells = []
        for design in designs:
            tau, n = ours.get(design, {}).get(proxy, (None, 0))
            cells.append(f"{'not run' if tau is None else fmt(tau)} ({fmt(paper.get(proxy, {}).get(design))}) | {n}")
        lines.append(f"| {proxy} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nds-dir", required=True, help="directory of NDS's extracted data.zip (NASNet.json, ...)")
    parser.add_argument("--data", required=True, help="CIFAR-10 npz for the proxies' batch")
    parser.add_argument("--out", default="docs/correlation/nds")
    parser.add_argument("--designs", default=",".join(FILES))
    parser.add_argument("--proxies", default=",".join(PROXIES))
    parser.add_argument("--n", type=int, default=None, help="records per design (default: all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)

    from nasearch.cli import main as nasearch
    from nasearch.loading import load_space

    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [d for d in designs if d not in FILES]
    if unknown:
        print(f"nds_table4: unknown designs {unknown}; use {list(FILES)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    ours: dict[str, dict[str, tuple[float, int]]] = {}
    for design in designs:
        path = Path(args.nds_dir).expanduser() / FILES[design]
        n = args.n or len(load_space({"name": "nds", "args": {"path": str(path), "design": design}}).records)
        command = ["correlate", "--space", "nds", "--space-arg", f"path={path}", "--space-arg", f"design={design}",
                   "--proxies", ",".join(proxies), "--n", str(n), "--batch-size", str(args.batch_size),
                   "--data", args.data, "--out", str(out / design), "--workers", str(args.workers),
                   "--pool", str(min(100, n)), "--no-progress"]
        if args.cache_dir:
            command += ["--cache-dir", args.cache_dir]
        code = nasearch(command)
        if code:
            return code
        with (out / design / "correlation.csv").open(newline="") as handle:
            ours[design] = {row["proxy"]: (float(row["kendall"]), int(row["n"])) for row in csv.DictReader(handle)
                            if row["metric"] == "cifar10_test"}
    paper = paper_figures()
    text = table(ours, designs, proxies, paper)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table4.md").write_text(
        f"Kendall τ with the final test accuracy (100 − test_ep_top1[−1]) on NDS's CIFAR-10 sweeps, batch {args.batch_size},"
        f" init and batch seed 0; the paper's τ in parentheses (`nasearch/data/papers/gradsign_iclr2022.yaml, table4`, ? = not in"
        " that file).\n\n" + text)
    with (out / "table4.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["proxy", "design", "kendall", "n", "paper_kendall"])
        for proxy in proxies:
            for design in designs:
                tau, n = ours[design].get(proxy, (float("nan"), 0))
                writer.writerow([proxy, design, tau, n, paper.get(proxy, {}).get(design)])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
