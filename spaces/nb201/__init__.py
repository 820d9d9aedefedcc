"""NAS-Bench-201 as a search space, over the embedded table or the official files."""
