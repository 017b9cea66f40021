"""Faults inside the token stream of an HTTP link (chaoslib_ext.proxy.stream)."""
