"""The ``load`` block of an experiment (and the options of ``chaosllm load``), parsed once into a value.

load:
  url: http://127.0.0.1:8000      # default: the target's gateway
  path: /v1/chat/completions      # or /v1/completions
  model: sandbox-v1               # sent as "model" when set
  users: 16                       # concurrent streams (each sends its next request when one ends)
  spawn_rate: 16                  # users started per second (default: all within about a second)
  shape: constant                 # see chaoslib_ext.load.profile
  max_tokens: 64
  prompt: "..."                   # unique_prompts appends a request id so prompt caches miss
  warmup: 5s                      # left out of every phase (default: spawn time + 2 s)
  timeout: 60s                    # per request
  processes: 1                    # Locust processes (one core saturates near 15k SSE events/s)
  headers: {Authorization: ...}
  extra_body: {temperature: 0}    # merged into every request body
  goodput: {ttft_ms: 500, tpot_ms: 50, e2el_ms: 10000}   # per-request SLOs for goodput
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.load.profile import LoadProfile, Shape, parse_shape

__all__ = ["DEFAULT_PROMPT", "GoodputSLO", "LoadSpec"]

DEFAULT_PROMPT = "Explain in a few sentences how a cache and a queue keep a streaming service fast."
_PATHS = ("/v1/chat/completions", "/v1/completions")
_FIELDS = (
    "url",
    "path",
    "model",
    "users",
    "spawn_rate",
    "shape",
    "duration",
    "max_tokens",
    "prompt",
    "unique_prompts",
    "include_usage",
    "think_time",
    "warmup",
    "timeout",
    "processes",
    "headers",
    "extra_body",
    "goodput",
)


@dataclass(frozen=True)
class GoodputSLO:
    """A request counts towards goodput when it succeeded and met every bound set here."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2el_ms: float | None = None

    @classmethod
    def parse(cls, raw: object, where: str) -> GoodputSLO:
        f = Fields(raw, ["ttft_ms", "tpot_ms", "e2el_ms"], where)
        slo = cls(
            f.number("ttft_ms", None, minimum=0),
            f.number("tpot_ms", None, minimum=0),
            f.number("e2el_ms", None, minimum=0),
        )
        if slo == cls():
            raise SpecError(where, "sets no bound", "ttft_ms, tpot_ms, e2el_ms")
        return slo


@dataclass(frozen=True)
class LoadSpec:
    url: str | None = None
    path: str = "/v1/chat/completions"
    model: str | None = None
    users: int = 8
    spawn_rate: float | None = None
    shape: Shape = field(default_factory=lambda: parse_shape("constant"))
    duration_s: float | None = None
    max_tokens: int = 64
    prompt: str = DEFAULT_PROMPT
    unique_prompts: bool = True
    include_usage: bool = True
    think_time_s: float = 0.0
    warmup_s: float | None = None  # None: until every user has started, plus 2 s
    timeout_s: float = 60.0
    processes: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    goodput: GoodputSLO | None = None

    @classmethod
    def parse(cls, raw: object, where: str = "") -> LoadSpec:
        """Parse the YAML form; raises SpecError naming the first bad field."""
        f = Fields(raw if raw is not None else {}, _FIELDS, where)
        url = f.string("url", None)
        if url is not None and not url.startswith(("http://", "https://")):
            raise SpecError(f"{where}.url".lstrip("."), f"url {url!r} is not http(s)", "http://host:port")
        headers = f.mapping("headers", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise SpecError(f"{where}.headers".lstrip("."), "header names and values must be strings")
        goodput_raw = f.mapping("goodput", None)
        return cls(
            url=url.rstrip("/") if url else None,
            path=f.string("path", "/v1/chat/completions", choices=_PATHS),
            model=f.string("model", None),
            users=f.integer("users", 8, minimum=1, maximum=10000),
            spawn_rate=f.number("spawn_rate", None, minimum=0.1),
            shape=parse_shape(f.raw.get("shape"), f"{where}.shape".lstrip(".")),
            duration_s=f.duration("duration", None, positive=True),
            max_tokens=f.integer("max_tokens", 64, minimum=1, maximum=1_000_000),
            prompt=f.string("prompt", DEFAULT_PROMPT),
            unique_prompts=f.boolean("unique_prompts", True),
            include_usage=f.boolean("include_usage", True),
            think_time_s=f.duration("think_time", 0.0),
            warmup_s=f.duration("warmup", None),
            timeout_s=f.duration("timeout", 60.0, positive=True),
            processes=f.integer("processes", 1, minimum=1, maximum=64),
            headers=dict(headers),
            extra_body=dict(f.mapping("extra_body", {})),
            goodput=GoodputSLO.parse(goodput_raw, f"{where}.goodput".lstrip(".")) if goodput_raw is not None else None,
        )

    def profile(self) -> LoadProfile:
        return LoadProfile(self.users, self.spawn_rate or float(self.users), self.shape, self.duration_s)

    def to_json(self) -> dict[str, Any]:
        """The wire form handed to the Locust process; ``from_json`` reads it back."""
        return {
            "url": self.url,
            "path": self.path,
            "model": self.model,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "shape": self.shape.to_json(),
            "duration": f"{self.duration_s}s" if self.duration_s else None,
            "max_tokens": self.max_tokens,
            "prompt": self.prompt,
            "unique_prompts": self.unique_prompts,
            "include_usage": self.include_usage,
            "think_time": f"{self.think_time_s}s",
            "warmup": None if self.warmup_s is None else f"{self.warmup_s}s",
            "timeout": f"{self.timeout_s}s",
            "processes": self.processes,
            "headers": self.headers,
            "extra_body": self.extra_body,
            "goodput": None if self.goodput is None else {k: v for k, v in vars(self.goodput).items() if v is not None},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LoadSpec:
        return cls.parse({k: v for k, v in raw.items() if v is not None})

    def request_body(self, nonce: str) -> dict[str, Any]:
        """The JSON body of one request; ``nonce`` makes the prompt unique when ``unique_prompts``."""
        prompt = f"{self.prompt} [{nonce}]" if self.unique_prompts else self.prompt
        body: dict[str, Any] = {"max_tokens": self.max_tokens, "stream": True}
        if self.path == "/v1/chat/completions":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if self.model:
            body["model"] = self.model
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(self.extra_body)
        return body
