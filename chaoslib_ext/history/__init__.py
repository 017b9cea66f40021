"""Every run's numbers in a local SQLite store, and drift across runs of the same experiment."""

from chaoslib_ext.history.drift import Drift, judge
from chaoslib_ext.history.store import History, history_path

__all__ = ["Drift", "History", "history_path", "judge"]
