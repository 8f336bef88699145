"""The version of ibench (recorded in every run manifest and report)."""

__version__ = "0.1.0"
