"""Packaging is declared in setup.cfg; this file maps the checkout's top-level folders into the
``nasearch`` namespace: ``spaces/`` installs as ``nasearch.spaces``, ``searchers/`` as
``nasearch.searchers`` and ``configs/`` as ``nasearch.configs`` (so a wheel ships the shipped
configs without a second copy in the source tree; ``nasearch.config.resolve_config`` finds them
by name). Nothing installs as a top-level ``spaces`` or ``searchers`` package, so nasearch sits
beside PyPI's ``spaces`` distribution without either shadowing the other."""
from setuptools import find_packages, setup

MAPPED = {"nasearch.spaces": "spaces", "nasearch.searchers": "searchers"}
PACKAGES = find_packages(include=["nasearch", "nasearch.*"])
for package, folder in MAPPED.items():
    PACKAGES += [package] + [f"{package}.{sub}" for sub in find_packages(folder)]

setup(
    packages=[*PACKAGES, "nasearch.configs"],
    package_dir={**MAPPED, "nasearch.configs": "configs"},
)
