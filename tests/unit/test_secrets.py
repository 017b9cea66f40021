"""Scrubbing registered secret values from data, text and log records."""

import logging

import pytest

from chaoslib_ext import secrets


@pytest.fixture(autouse=True)
def no_secrets_after():
    yield
    secrets._values.clear()


def test_leaves_of_a_resolved_secrets_block_are_registered_and_scrubbed_everywhere():
    secrets.register(secrets.leaf_values({"gw": {"token": "s3cr3t-token", "pin": 1234567}, "short": {"x": "ab"}}))
    data = {"s3cr3t-token": ["Bearer s3cr3t-token", {"n": "pin 1234567"}], "ab": "ab stays: too short"}
    assert secrets.scrub_data(data) == {"***": ["Bearer ***", {"n": "pin ***"}], "ab": "ab stays: too short"}


def test_a_longer_secret_containing_a_shorter_one_goes_first():
    secrets.register(["abcd", "abcdefgh"])
    assert secrets.scrub("x abcdefgh y abcd") == "x *** y ***"


def test_a_log_record_loses_the_secret_in_its_arguments_and_its_traceback():
    secrets.register(["hunter22"])
    try:
        raise ValueError("bad password hunter22")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login with %s", ("hunter22",), True)
        import sys

        record.exc_info = sys.exc_info()
    assert secrets.ScrubFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "hunter22" not in text
    assert "login with ***" in text
    assert "bad password ***" in text


def test_nothing_registered_leaves_data_untouched():
    data = {"a": "b"}
    assert secrets.scrub_data(data) is data
