"""The DARTS family of cell spaces: DARTS / NAS-Bench-301 and the NDS design spaces."""
