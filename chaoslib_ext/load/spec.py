"""The ``load`` block of an experiment (and the options of ``chaosllm load``), parsed once into a value.

load:
  url: http://127.0.0.1:8000      # default: the target's gateway (a URL ending in the path is taken as it is)
  path: /v1/chat/completions      # or /v1/completions (default: the target's endpoint, else chat)
  model: sandbox-v1               # sent as "model" when set (default: the target's endpoint model)
  users: 16                       # concurrent streams (each sends its next request when one ends)
  spawn_rate: 16                  # users started per second (default: all within about a second)
  shape: constant                 # see chaoslib_ext.load.profile
  max_tokens: 64
  prompt: "..."                   # unique_prompts appends a request id so prompt caches miss
  warmup: 5s                      # left out of every phase (default: spawn time + 2 s)
  timeout: 60s                    # deadline of a whole request (default: 10 s + 30 s + max_tokens x 0.25 s)
  idle_timeout: 30s               # longest gap between two bytes of a response
  ca_bundle: /path/ca.pem         # TLS is verified by default; this CA instead of the system's
  insecure: false                 # true: do not verify the server's certificate
  processes: 1                    # Locust processes (one core saturates near 15k SSE events/s)
  max_client_lag: 5ms             # a second the load client lags more (p99) is not measurable; a phase
                                  # with most of its seconds so (or starved) is not either
  client: socket                  # socket: our HTTP/1.1 reader (chaoslib_ext.load.http1); fasthttp: Locust's
  workers: 2                      # the load runs on workers instead: `chaosllm worker --master HOST:PORT` each,
                                  # on any host (this one too); the master only collects (processes stays 1)
  master: 127.0.0.1:5557          # where the Locust master listens for them (port 0: a free one; the join
                                  # port, which serves the run's load to workers, is the next one)
  worker_timeout: 60s             # the run waits this long for every worker, then exits 2
  max_clock_offset: 5ms           # a worker whose clock is known less exactly than this is refused (exit 2)
  headers: {Authorization: {env: OPENAI_API_KEY, prefix: "Bearer "}}   # or a literal, or {secret: NAME};
                                  # on top of the target endpoint's headers
  extra_body: {temperature: 0}    # merged into every request body
  workload: {input_tokens: 256, output_tokens: 64}   # token lengths or a dataset: chaoslib_ext.load.workload
  retry: {on: [429, 503], attempts: 3}   # off by default: a client that retries (chaoslib_ext.load.retry)
  goodput: {ttft_ms: 500, tpot_ms: 50, e2el_ms: 10000}   # per-request SLOs for goodput
  alternate:                      # two sides in one run: each user alternates A, B, A, B request by request
    a: {model: sandbox-v1}        # model and/or url of side A (default: the load's own)
    b: {model: sandbox-v2}        # chaosllm compare RUN_DIR then compares A's requests with B's
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chaoslib_ext.access import CHAT_PATH, ENDPOINT_PATHS, parse_headers, resolve_headers
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.load.arrivals import ARRIVALS, Arrivals
from chaoslib_ext.load.profile import Constant, LoadProfile, Shape, parse_shape
from chaoslib_ext.load.retry import RetryPolicy
from chaoslib_ext.load.workload import Workload
from chaoslib_ext.metrics.goodput import GoodputSLO
from chaoslib_ext.metrics.validity import MAX_CLIENT_LAG_MS
from chaoslib_ext.secrets import REDACTED, Credential, SecretRef, is_credential_header

if TYPE_CHECKING:
    from chaoslib_ext.target import Service

__all__ = [
    "CONNECT_BUDGET_S",
    "DEFAULT_PATH",
    "DEFAULT_PROMPT",
    "FIRST_TOKEN_BUDGET_S",
    "PER_TOKEN_BUDGET_S",
    "SIDES",
    "Alternate",
    "LoadSpec",
    "RateShare",
    "SideTarget",
    "parse_share",
    "split_endpoint",
]

DEFAULT_PROMPT = "Explain in a few sentences how a cache and a queue keep a streaming service fast."
DEFAULT_PATH = CHAT_PATH
_PATHS = ENDPOINT_PATHS
#: the default deadline of one request: connect + first token + max_tokens x per token
CONNECT_BUDGET_S, FIRST_TOKEN_BUDGET_S, PER_TOKEN_BUDGET_S = 10.0, 30.0, 0.25
DEFAULT_IDLE_TIMEOUT_S = 30.0
#: socket: chaoslib_ext.load.http1 reads the socket (the cheaper); fasthttp: Locust's FastHttpUser.readline
CLIENTS = ("socket", "fasthttp")
DEFAULT_MASTER = "127.0.0.1:0"
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
    "idle_timeout",
    "ca_bundle",
    "insecure",
    "processes",
    "max_client_lag",
    "client",
    "workers",
    "master",
    "worker_timeout",
    "max_clock_offset",
    "headers",
    "extra_body",
    "goodput",
    "alternate",
    "rate",
    "arrival",
    "burstiness",
    "max_concurrency",
    "seed",
    "workload",
    "retry",
)
_OPEN_LOOP = ("arrival", "burstiness", "max_concurrency", "seed")
#: ``rate: 70% of sweep`` (the latest sweep of the same endpoint and model) or ``70% of DIR``
_SHARE = re.compile(r"^\s*(?P<pct>\d+(\.\d+)?)\s*%\s+of\s+(?P<source>.+?)\s*$")
#: the side tags a request's sample carries: 0 no side, 1 side A, 2 side B
SIDES = {"A": 1, "B": 2}


@dataclass(frozen=True)
class SideTarget:
    model: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Alternate:
    """Side A's and side B's model and URL; every user alternates them request by request, so at any
    moment about half the requests in flight are A's: a stall of the machine lands on both sides."""

    a: SideTarget
    b: SideTarget

    @classmethod
    def parse(cls, raw: object, where: str) -> Alternate:
        f = Fields(raw, ["a", "b"], where)
        sides = []
        for name in ("a", "b"):
            side = Fields(f.mapping(name), ["model", "url"], f"{where}.{name}")
            url = side.string("url", None)
            if url is not None and not url.startswith(("http://", "https://")):
                raise SpecError(f"{where}.{name}.url", f"url {url!r} is not http(s)", "http://host:port")
            sides.append(SideTarget(side.string("model", None), url.rstrip("/") if url else None))
        if sides[0] == sides[1] == SideTarget():
            raise SpecError(where, "the sides set nothing", "a: {model: ...}, b: {model: ...} (or url)")
        return cls(sides[0], sides[1])

    def to_json(self) -> dict[str, Any]:
        return {k: {f: v for f, v in vars(s).items() if v is not None} for k, s in (("a", self.a), ("b", self.b))}


def _check_workers(f: Fields, arrivals: Arrivals | None, where: str) -> None:
    if not f.raw.get("workers"):
        return
    at = f"{where}.workers".lstrip(".")
    if arrivals is not None:
        raise SpecError(
            at, "an open loop (rate) cannot run on remote workers yet", "users (a closed loop) with workers"
        )
    if f.raw.get("processes", 1) != 1:
        raise SpecError(at, "with workers the master sends no request: processes must stay 1",
                        "more workers (start one on this host too)")  # fmt: skip


def _master(text: str, where: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65534:
        raise SpecError(where, f"{text!r} is not HOST:PORT", "127.0.0.1:5557, 0.0.0.0:5557 (port 0: a free one)")
    return text


def split_endpoint(url: str, where: str = "url") -> tuple[str, str | None]:
    """``(base URL, endpoint path)`` of a URL that may already end in the endpoint path (taken as it
    is, not appended twice); raises SpecError for what is not http(s)."""
    if not url.startswith(("http://", "https://")) or not urlsplit(url).hostname:
        raise SpecError(where, f"url {url!r} is not http(s)", "http://host:port or https://host[/base]")
    base = url.rstrip("/")
    for path in _PATHS:
        if base.endswith(path):
            return base[: -len(path)], path
    return base, None


def _join(base: str, path: str) -> str:
    """``base`` + ``path``, where an OpenAI-style base already ending in ``/v1`` does not repeat it."""
    if base.endswith("/v1") and path.startswith("/v1/"):
        return base + path[3:]
    return base + path


@dataclass(frozen=True)
class LoadSpec:
    url: str | None = None
    path: str | None = None  # None: the target endpoint's, else DEFAULT_PATH
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
    timeout_s: float | None = None  # None: connect + first token + max_tokens x per-token budgets
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    ca_bundle: str | None = None
    insecure: bool = False
    processes: int = 1
    max_client_lag_ms: float = MAX_CLIENT_LAG_MS  # chaoslib_ext.metrics.validity
    client: str = "socket"  # the stream reader: one of CLIENTS
    workers: int = 0  # remote load processes (chaoslib_ext.load.remote); with them, processes may be 0
    master: str = DEFAULT_MASTER  # host:port the Locust master listens on for them
    worker_timeout_s: float = 60.0
    max_clock_offset_s: float = 0.005
    headers: dict[str, Credential] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    goodput: GoodputSLO | None = None
    alternate: Alternate | None = None
    arrivals: Arrivals | None = None  # an open loop: requests/s on a schedule, instead of users
    rate_share: RateShare | None = None  # ``rate: 70% of sweep``, until chaoslib_ext.sweep resolves it
    workload: Workload | None = None  # prompt and output lengths, or a dataset (chaoslib_ext.load.workload)
    retry: RetryPolicy | None = None  # None: no attempt is sent again (chaoslib_ext.load.retry)

    @classmethod
    def parse(cls, raw: object, where: str = "") -> LoadSpec:
        """Parse the YAML form; raises SpecError naming the first bad field."""
        f = Fields(raw if raw is not None else {}, _FIELDS, where)
        url, path = f.string("url", None), f.string("path", None, choices=_PATHS)
        if url is not None:
            url, url_path = split_endpoint(url, f"{where}.url".lstrip("."))
            if url_path is not None and path not in (None, url_path):
                raise SpecError(f"{where}.path".lstrip("."), f"the url ends in {url_path}, the path says {path}")
            path = path or url_path
        goodput_raw = f.mapping("goodput", None)
        alternate_raw = f.mapping("alternate", None)
        share = parse_share(f.raw["rate"]) if isinstance(f.raw.get("rate"), str) else None
        workload = Workload.parse(f.raw["workload"], f"{where}.workload".lstrip(".")) if f.has("workload") else None
        if workload is not None and f.has("prompt"):
            raise SpecError(f"{where}.prompt".lstrip("."), "a workload makes its own prompts", "prompt or workload")
        arrivals = _arrivals(f if share is None else _with_rate(f, 1.0), where)
        _check_workers(f, arrivals, where)
        return cls(
            url=url,
            path=path,
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
            timeout_s=f.duration("timeout", None, positive=True),
            idle_timeout_s=f.duration("idle_timeout", DEFAULT_IDLE_TIMEOUT_S, positive=True),
            ca_bundle=f.string("ca_bundle", None),
            insecure=f.boolean("insecure", False),
            processes=f.integer("processes", 1, minimum=1, maximum=64),
            workers=f.integer("workers", 0, minimum=0, maximum=256),
            master=_master(f.string("master", DEFAULT_MASTER), f"{where}.master".lstrip(".")),
            worker_timeout_s=f.duration("worker_timeout", 60.0, positive=True),
            max_clock_offset_s=f.duration("max_clock_offset", 0.005, positive=True),
            client=f.string("client", "socket", choices=CLIENTS),
            max_client_lag_ms=f.duration("max_client_lag", MAX_CLIENT_LAG_MS / 1000.0, positive=True) * 1000.0,
            headers=parse_headers(f.mapping("headers", {}), f"{where}.headers".lstrip(".")),
            extra_body=dict(f.mapping("extra_body", {})),
            goodput=GoodputSLO.parse(goodput_raw, f"{where}.goodput".lstrip(".")) if goodput_raw is not None else None,
            alternate=None
            if alternate_raw is None
            else Alternate.parse(alternate_raw, f"{where}.alternate".lstrip(".")),
            arrivals=arrivals,
            rate_share=share,
            workload=workload,
            retry=RetryPolicy.parse(f.raw["retry"], f"{where}.retry".lstrip(".")) if f.has("retry") else None,
        )

    def profile(self) -> LoadProfile:
        """Users over time; an open loop runs one sender per load process (the shape shapes its rate)."""
        if self.arrivals is not None:
            return LoadProfile(self.processes, float(self.processes), Constant(), self.duration_s)
        return LoadProfile(self.users, self.spawn_rate or float(self.users), self.shape, self.duration_s)

    @property
    def senders(self) -> int:
        """The load processes that send requests: the local ones, or with ``workers`` the workers (the master
        sends none)."""
        return self.workers or self.processes

    @property
    def master_address(self) -> tuple[str, int]:
        host, _, port = self.master.rpartition(":")
        return host, int(port)

    @property
    def endpoint_path(self) -> str:
        return self.path or DEFAULT_PATH

    @property
    def deadline_s(self) -> float:
        """The longest a request may take, from sending to its last byte."""
        if self.timeout_s is not None:
            return self.timeout_s
        return CONNECT_BUDGET_S + FIRST_TOKEN_BUDGET_S + self.max_tokens * PER_TOKEN_BUDGET_S

    def endpoint_url(self, base: str | None = None) -> str:
        """The full URL requests are sent to (``base``: another side's URL)."""
        chosen = base or self.url
        if not chosen:
            raise SpecError("url", "no url: neither the load block nor the target names the endpoint")
        return _join(chosen, self.endpoint_path)

    def with_target(self, gateway: Service | None) -> LoadSpec:
        """This load with what it leaves unsaid taken from the target's gateway: its address, and its
        endpoint's path, model, headers and TLS settings (the load block wins where both say)."""
        if gateway is None:
            return self
        endpoint = gateway.endpoint
        if endpoint is None:
            return replace(self, url=self.url or split_endpoint(gateway.address, "gateway address")[0])
        base, address_path = split_endpoint(gateway.address, "gateway address")
        return replace(
            self,
            url=self.url or base,
            path=self.path or endpoint.path or address_path,
            model=self.model or endpoint.model,
            headers={**endpoint.headers, **self.headers},
            ca_bundle=self.ca_bundle or endpoint.ca_bundle,
            insecure=self.insecure or endpoint.insecure,
        )

    def resolved_headers(self) -> dict[str, str]:
        """The headers in clear, credentials resolved (and registered for scrubbing); raises TargetError."""
        return resolve_headers(self.headers)

    def to_json(self) -> dict[str, Any]:
        """The wire form handed to the Locust process; ``from_json`` reads it back."""
        closed = self._to_json()
        if self.workload is not None:
            del closed["prompt"]  # a workload makes its own
        if self.arrivals is None:
            return closed
        open_loop = {k: v for k, v in closed.items() if k not in ("users", "spawn_rate", "think_time")}
        rate = {"rate": self.rate_share.text} if self.rate_share else {}
        return {**open_loop, **_arrivals_json(self.arrivals), **rate}

    def _to_json(self) -> dict[str, Any]:
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
            "timeout": None if self.timeout_s is None else f"{self.timeout_s}s",
            "idle_timeout": f"{self.idle_timeout_s}s",
            "ca_bundle": self.ca_bundle,
            "insecure": self.insecure,
            "processes": self.processes,
            "max_client_lag": f"{self.max_client_lag_ms:g}ms",
            "client": self.client,
            **self._workers_json(),
            "headers": {name: _header_json(name, value) for name, value in self.headers.items()},
            "extra_body": self.extra_body,
            "goodput": None if self.goodput is None else {k: v for k, v in vars(self.goodput).items() if v is not None},
            "alternate": None if self.alternate is None else self.alternate.to_json(),
            **({"workload": self.workload.to_json()} if self.workload else {}),
            **({"retry": self.retry.to_json()} if self.retry else {}),
        }

    def _workers_json(self) -> dict[str, Any]:
        if not self.workers:
            return {}
        return {
            "workers": self.workers,
            "master": self.master,
            "worker_timeout": f"{self.worker_timeout_s}s",
            "max_clock_offset": f"{self.max_clock_offset_s * 1000:g}ms",
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LoadSpec:
        return cls.parse({k: v for k, v in raw.items() if v is not None})

    def side(self, tag: int) -> SideTarget:
        """The model and URL of side ``tag`` (see SIDES), this load's own where the side sets none."""
        chosen = SideTarget() if self.alternate is None or tag == 0 else (self.alternate.a, self.alternate.b)[tag - 1]
        return SideTarget(chosen.model or self.model, chosen.url or self.url)

    def request_body(self, nonce: str, model: str | None = None) -> dict[str, Any]:
        """The JSON body of one request; ``nonce`` makes the prompt unique when ``unique_prompts``."""
        prompt = f"{self.prompt} [{nonce}]" if self.unique_prompts else self.prompt
        body: dict[str, Any] = {"max_tokens": self.max_tokens, "stream": True}
        if self.endpoint_path == "/v1/chat/completions":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if model or self.model:
            body["model"] = model or self.model
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(self.extra_body)
        return body


@dataclass(frozen=True)
class RateShare:
    """A rate given as a share of a capacity sweep's knee: ``source`` is ``sweep`` or a sweep directory."""

    fraction: float
    source: str
    text: str


def parse_share(text: str) -> RateShare | None:
    """``"70% of sweep"`` -> RateShare(0.7, "sweep"); None for what is not a share of a sweep."""
    m = _SHARE.match(text)
    return None if m is None else RateShare(float(m["pct"]) / 100.0, m["source"], text.strip())


def _with_rate(f: Fields, rate: float) -> Fields:
    """``f`` with its rate set to a placeholder until the share is resolved."""
    return Fields({**f.raw, "rate": rate}, _FIELDS, f.where)


def _arrivals(f: Fields, where: str) -> Arrivals | None:
    """The open loop of ``rate``; SpecError when it is mixed with ``users`` or its options come alone."""
    at = f"{where}.".lstrip(".")
    if not f.has("rate"):
        stray = [k for k in _OPEN_LOOP if f.has(k)]
        if stray:
            raise SpecError(f"{at}{stray[0]}", "applies to an open-loop load only: set rate", "rate: requests/s")
        return None
    if f.has("users"):
        raise SpecError(f"{at}rate", "rate and users exclude each other: an open loop (rate, requests/s on a "
                        "schedule) or a closed loop (users, each sending when its last request is done)",
                        "rate or users")  # fmt: skip
    if f.has("spawn_rate") or f.has("think_time"):
        raise SpecError(f"{at}rate", "spawn_rate and think_time belong to users (a closed loop)", "rate or users")
    kind = f.string("arrival", "poisson", choices=ARRIVALS)
    burstiness = f.number("burstiness", 1.0, minimum=0.01, maximum=100.0)
    if f.has("burstiness") and kind != "gamma":
        raise SpecError(f"{at}burstiness", f"burstiness is gamma's shape; arrival is {kind}", "arrival: gamma")
    return Arrivals(
        rate_rps=f.number("rate", minimum=0.01, maximum=10_000.0),
        kind=kind,
        burstiness=burstiness,
        seed=f.integer("seed", 0, minimum=0),
        max_concurrency=f.integer("max_concurrency", None, minimum=1, maximum=100_000),
    )


def _arrivals_json(a: Arrivals) -> dict[str, Any]:
    out: dict[str, Any] = {"rate": a.rate_rps, "arrival": a.kind, "seed": a.seed}
    if a.kind == "gamma":
        out["burstiness"] = a.burstiness
    if a.max_concurrency is not None:
        out["max_concurrency"] = a.max_concurrency
    return out


def _header_json(name: str, value: Credential) -> Any:
    """What a file may say of a header: a reference by its name, a credential never in clear."""
    if isinstance(value, SecretRef):
        return value.to_json()
    return REDACTED if is_credential_header(name) else value
