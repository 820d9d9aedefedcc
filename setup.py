"""Packaging is declared in setup.cfg; this file only maps the checkout's ``configs/`` folder
into the package as ``nasearch.configs``, so a wheel ships the shipped configs without a
second copy in the source tree (``nasearch.config.resolve_config`` finds them by name)."""
from setuptools import find_packages, setup

PACKAGES = find_packages(include=["nasearch", "nasearch.*", "searchers", "searchers.*", "spaces", "spaces.*"])

setup(packages=[*PACKAGES, "nasearch.configs"], package_dir={"nasearch.configs": "configs"})
