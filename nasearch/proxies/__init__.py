"""Zero-cost proxies: one module per proxy, named in :mod:`nasearch.proxies.registry`."""
