"""nasearch: neural architecture search with proxy-assisted optimizers."""

__version__ = "0.1.0"
