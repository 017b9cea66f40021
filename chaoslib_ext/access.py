"""How to reach a service of a real stack: the LLM endpoint's path, model, headers and TLS, and the
credentials of Redis and Kafka. Part of a target file; credentials are named (``{env: VAR}``,
``{secret: NAME}``) or literal, and resolved only when used (chaoslib_ext.secrets)::

    services:
      gateway:
        address: https://api.openai.com
        endpoint: {path: /v1/chat/completions, model: gpt-4o-mini,
                   headers: {Authorization: {env: OPENAI_API_KEY, prefix: "Bearer "}},
                   ca_bundle: /etc/ssl/my-ca.pem, insecure: false}
      redis:
        address: rediss://redis.example:6380/0
        auth: {username: app, password: {env: REDIS_PASSWORD}, ca_bundle: /etc/ssl/my-ca.pem}
      kafka:
        address: broker.example:9093
        auth: {security_protocol: SASL_SSL, sasl_mechanism: SCRAM-SHA-512, username: app,
               password: {secret: kafka_password}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.secrets import Credential, SecretRef, parse_credential, register, register_header, resolve

__all__ = ["CHAT_PATH", "ENDPOINT_PATHS", "Endpoint", "ServiceAuth", "parse_headers", "resolve_headers"]

ENDPOINT_PATHS = ("/v1/chat/completions", "/v1/completions")
CHAT_PATH = ENDPOINT_PATHS[0]  # the default endpoint
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


def _credential_json(value: Credential) -> Any:
    return value.to_json() if isinstance(value, SecretRef) else value


def parse_headers(raw: object, where: str) -> dict[str, Credential]:
    """``{name: value or {env|secret: ..., prefix: ...}}``; a literal credential header is registered."""
    if not isinstance(raw, dict):
        raise SpecError(where, "expected a mapping of header names to values")
    out: dict[str, Credential] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            raise SpecError(where, f"header name {name!r} is not a string")
        out[name] = parse_credential(value, f"{where}.{name}")
        if isinstance(out[name], str):
            register_header(name, str(out[name]))
    return out


def resolve_headers(headers: dict[str, Credential]) -> dict[str, str]:
    """Every header in clear (each credential registered for scrubbing); raises TargetError."""
    out = {name: resolve(value) for name, value in headers.items()}
    for name, value in out.items():
        register_header(name, value)
    return out


@dataclass(frozen=True)
class Endpoint:
    """The OpenAI-compatible endpoint of a target's gateway; a load block's own fields win."""

    path: str | None = None
    model: str | None = None
    headers: dict[str, Credential] = field(default_factory=dict)
    ca_bundle: str | None = None
    insecure: bool = False

    @classmethod
    def parse(cls, raw: object, where: str) -> Endpoint:
        f = Fields(raw, ["path", "model", "headers", "ca_bundle", "insecure"], where)
        return cls(
            f.string("path", None, choices=ENDPOINT_PATHS),
            f.string("model", None),
            parse_headers(f.mapping("headers", {}), f"{where}.headers"),
            f.string("ca_bundle", None),
            f.boolean("insecure", False),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in (("path", self.path), ("model", self.model)) if v is not None}
        if self.headers:
            out["headers"] = {k: _credential_json(v) for k, v in self.headers.items()}
        if self.ca_bundle:
            out["ca_bundle"] = self.ca_bundle
        if self.insecure:
            out["insecure"] = True
        return out


@dataclass(frozen=True)
class ServiceAuth:
    """Credentials of Redis (ACL user, password, TLS CA) or Kafka (security protocol, SASL)."""

    username: Credential | None = None
    password: Credential | None = None
    ca_bundle: str | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None

    @classmethod
    def parse(cls, raw: object, where: str) -> ServiceAuth:
        f = Fields(raw, ["username", "password", "ca_bundle", "security_protocol", "sasl_mechanism"], where)
        password = parse_credential(f.raw["password"], f"{where}.password") if f.has("password") else None
        if isinstance(password, str):
            register([password])
        return cls(
            parse_credential(f.raw["username"], f"{where}.username") if f.has("username") else None,
            password,
            f.string("ca_bundle", None),
            f.string("security_protocol", None, choices=SECURITY_PROTOCOLS),
            f.string("sasl_mechanism", None, choices=SASL_MECHANISMS),
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "username": None if self.username is None else _credential_json(self.username),
            "password": None if self.password is None else _credential_json(self.password),
            "ca_bundle": self.ca_bundle,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.sasl_mechanism,
        }
        return {k: v for k, v in out.items() if v is not None}

    def redis_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``redis.Redis.from_url`` (credentials resolved); raises TargetError."""
        out: dict[str, Any] = {}
        if self.username is not None:
            out["username"] = resolve(self.username)
        if self.password is not None:
            out["password"] = resolve(self.password)
        if self.ca_bundle:
            out["ssl_ca_certs"] = self.ca_bundle
        return out

    def kafka_config(self) -> dict[str, str]:
        """librdkafka settings (credentials resolved); raises TargetError."""
        out: dict[str, str] = {}
        if self.security_protocol:
            out["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            out["sasl.mechanisms"] = self.sasl_mechanism
        if self.username is not None:
            out["sasl.username"] = resolve(self.username)
        if self.password is not None:
            out["sasl.password"] = resolve(self.password)
        if self.ca_bundle:
            out["ssl.ca.location"] = self.ca_bundle
        return out
