"""NAS-Bench-101 as a search space: cells, the module hash, the benchmark network."""
