"""Safeguards: stop conditions on the live metrics and on external probes, like AWS FIS's.

When one trips, every fault is removed at once, the load keeps running to measure the recovery,
the reason is recorded in the timeline, and the run ends with exit code 3.
"""

from chaoslib_ext.safeguards.spec import Condition, Safeguards

__all__ = ["Condition", "Safeguards"]
