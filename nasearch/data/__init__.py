"""Packaged data: whole-space proxy score tables (``proxy_tables/``)."""
