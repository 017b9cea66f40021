"""Endpoint truth against real servers: a whole-request deadline and an idle timeout, each its own
error class; TLS verified by default, with a CA bundle or ``insecure`` to get through."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
import trustme

from chaoslib_ext.load.probes import stream_check
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.samples import read_samples
from tests.integration.helpers import chaosllm, start_calibration_server, stop


@contextmanager
def calibration(tmp_path, *extra, ttft_ms=50, itl_ms=10):
    with (tmp_path / "calibration.log").open("w") as log:
        proc, url = start_calibration_server(tmp_path, log, ttft_ms, itl_ms, *extra)
        try:
            yield url
        finally:
            stop(proc)


def load(url, out, *extra):
    return chaosllm("load", "--url", url, "--users", "2", "--warmup", "0s", "--out", str(out), *extra, timeout=120)


def samples_of(out):
    return list(read_samples(out / "samples"))


def test_a_trickling_stream_ends_at_the_whole_request_deadline(tmp_path):
    # every second request sends a token a second: a socket timeout of 30 s would never end it
    with calibration(tmp_path, "--trickle-every", "2", "--trickle-ms", "1000") as url:
        result = load(url, tmp_path / "run", "--duration", "8s", "--max-tokens", "20", "--timeout", "3s")
    assert result.returncode == 0, result.stderr
    samples = samples_of(tmp_path / "run")
    cut = [s for s in samples if s.error is not None]
    assert cut, "no request was trickled"
    assert all(s.error == "timeout: the request exceeded its deadline of 3s" for s in cut), {s.error for s in cut}
    assert all(2950 <= s.done_ms <= 3600 for s in cut), [s.done_ms for s in cut]
    assert all(2 <= s.events <= 4 for s in cut)  # partial: the tokens that came before the deadline are kept
    assert all(s.ok and s.events == 20 for s in samples if s.error is None)


def test_a_stream_silent_longer_than_idle_timeout_ends_with_its_own_class(tmp_path):
    with calibration(tmp_path, "--trickle-every", "2", "--trickle-ms", "2500") as url:
        result = load(url, tmp_path / "run", "--duration", "6s", "--max-tokens", "4", "--idle-timeout", "1s")
    assert result.returncode == 0, result.stderr
    cut = [s for s in samples_of(tmp_path / "run") if s.error is not None]
    assert cut
    assert all(s.error.startswith("idle_timeout: no byte for 1s") for s in cut), {s.error for s in cut}
    assert all(950 <= s.done_ms <= 1700 for s in cut), [s.done_ms for s in cut]  # first token at 50 ms + 1 s


@pytest.fixture
def tls_files(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "cert.pem", "key": tmp_path / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    for blob in cert.cert_chain_pems[1:]:
        blob.write_to_path(str(paths["cert"]), append=True)
    return paths


def test_tls_is_verified_by_default_and_a_ca_bundle_or_insecure_gets_through(tmp_path, tls_files):
    tls = ("--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]))
    with calibration(tmp_path, *tls) as url:
        assert url.startswith("https://")
        short = ("--duration", "3s", "--max-tokens", "8")
        refused = load(url, tmp_path / "refused", *short)
        with_ca = load(url, tmp_path / "ca", *short, "--ca-bundle", str(tls_files["ca"]))
        insecure = load(url, tmp_path / "insecure", *short, "--insecure")
        # the probe verifies alike
        assert stream_check(LoadSpec(url=url))[0] is False
        assert "CERTIFICATE_VERIFY_FAILED" in stream_check(LoadSpec(url=url))[1]
        assert stream_check(LoadSpec(url=url, ca_bundle=str(tls_files["ca"]))) == (True, "content and [DONE]")
        assert stream_check(LoadSpec(url=url, insecure=True))[0] is True
    assert refused.returncode == 2, refused.stdout
    summary = json.loads((tmp_path / "refused" / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "load_unreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in summary["outcome"]["reasons"][0]
    for run, result in (("ca", with_ca), ("insecure", insecure)):
        assert result.returncode == 0, result.stderr
        overall = json.loads((tmp_path / run / "summary.json").read_text())["phases"]["overall"]
        assert overall["completed"] > 10
        assert overall["error_rate"] == 0


def test_a_local_proxy_in_front_of_an_https_endpoint_verifies_it_and_keeps_host_and_sni(tmp_path, tls_files):
    import requests

    from chaoslib_ext.proxy.local import start_local_proxy, stop_local_proxy
    from chaoslib_ext.run.proxied import through_local_proxy
    from chaoslib_ext.target import Target

    tls = ("--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]), "--echo-host")
    with calibration(tmp_path, *tls) as url:
        port = url.rsplit(":", 1)[1]
        address = f"https://localhost:{port}/v1"  # the certificate's name: SNI and Host must say it
        raw = {
            "kind": "chaosllm/target", "version": 1, "name": "tls",
            "services": {"gateway": {"address": address, "link": "gateway",
                                     "endpoint": {"ca_bundle": str(tls_files["ca"])}}},
            "proxy": {"links": {"gateway": {}}},
        }  # fmt: skip
        target = Target.from_json(raw, "tls-target")
        assert target.needs_local_proxy
        ready = start_local_proxy(target, tmp_path / "proxy", os.getpid())
        try:
            seen = through_local_proxy(target, ready, tmp_path / "proxy")
            gateway = seen.service("gateway")
            assert gateway.address.startswith("http://127.0.0.1:")
            assert gateway.address.endswith("/v1")
            assert gateway.real == address
            spec = LoadSpec().with_target(gateway)
            assert stream_check(spec) == (True, "content and [DONE]")  # TLS to the upstream verified by the proxy
            body = spec.request_body("n", None)
            with requests.post(spec.endpoint_url(), json=body, headers=spec.resolved_headers(), stream=True) as resp:
                first = json.loads(next(line for line in resp.iter_lines() if line.startswith(b"data:"))[5:])
            assert first["x_host"] == f"localhost:{port}"
        finally:
            stop_local_proxy(tmp_path / "proxy")
        # an upstream whose certificate the proxy cannot verify is refused by the proxy: the stream fails
        raw["services"]["gateway"]["endpoint"] = {}
        untrusted = Target.from_json(raw, "tls-target")
        ready = start_local_proxy(untrusted, tmp_path / "proxy2", os.getpid())
        try:
            seen = through_local_proxy(untrusted, ready, tmp_path / "proxy2")
            assert stream_check(LoadSpec().with_target(seen.service("gateway")))[0] is False
        finally:
            stop_local_proxy(tmp_path / "proxy2")
    log = (tmp_path / "proxy2" / "proxy.log").read_text()
    assert "CERTIFICATE_VERIFY_FAILED" in log
