"""A probe that hands back (and logs) the secret it was given, as careless user code would."""

import logging


def echo_secret(token: str) -> str:
    logging.getLogger("chaoslib_ext.canary").warning("the probe got token %s", token)
    return f"token={token}"
