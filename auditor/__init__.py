"""decnet-audit: a pytest-style drift auditor for DECNET honeypot hosts."""

__version__ = "0.1.0"
