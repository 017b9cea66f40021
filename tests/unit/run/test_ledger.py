import pytest

from chaoslib_ext.exceptions import LedgerError
from chaoslib_ext.run.ledger import Ledger, LedgerEntry


def entry(fault_id):
    return LedgerEntry(fault_id, "network", "proxy", "link redis", {"action": "delay"}, {"link": "redis"})


def test_entries_move_from_pending_to_removed(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    ledger.add(entry("a"))
    assert [e.state for e in ledger.outstanding()] == ["pending"]
    ledger.update("a", state="injected", injected_at=1.0)
    assert ledger.get("a").outstanding
    ledger.update("a", state="removed", removed_at=2.0)
    assert ledger.outstanding() == []
    assert ledger.get("a").undo == {"link": "redis"}


def test_ids_are_unique_within_a_run(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    ledger.add(entry("delay-redis"))
    assert ledger.unique_id("delay-redis") == "delay-redis-2"
    with pytest.raises(LedgerError, match="already"):
        ledger.add(entry("delay-redis"))
