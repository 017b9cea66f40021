"""Fault families (one subpackage each, ``actions.py`` over a driver), the ledger and the lifecycle."""
