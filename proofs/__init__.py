"""The theorem statements (``*.toml``, schema in ``SCHEMA.md``), shipped as package data."""
