"""Counting tokens as the server does: its own tokenize endpoint, or a local tokenizer.json.

    vLLM, the sandbox        POST /tokenize          {"model", "prompt"} -> {"count", "tokens"}
    llama-cpp-python         POST /extras/tokenize   {"input"} -> {"tokens"}  (special tokens parsed)
    a tokenizer.json file    the ``tokenizers`` package (pip install tokenizers), offline

A count never includes what the tokenizer adds by itself (a beginning-of-sequence token): it is
measured on the empty text and taken off.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from chaoslib_ext.exceptions import LoadError

__all__ = [
    "EOS_CANDIDATES",
    "FileTokenizer",
    "ServerTokenizer",
    "Tokenizer",
    "TokenizerKind",
    "open_tokenizer",
    "post_json",
    "tls_context",
]

TokenizerKind = Literal["vllm", "llama-cpp", "file"]
#: end-of-sequence texts of common chat models; those one token long in a vocabulary are its EOS tokens
EOS_CANDIDATES = ("<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<|end_of_text|>", "<|end|>", "<end_of_turn>",
                  "<eos>")  # fmt: skip


class Tokenizer(Protocol):
    kind: TokenizerKind

    def ids(self, text: str) -> list[int]: ...


@dataclass
class ServerTokenizer:
    """The server's own tokenizer over HTTP (``base``: the server's root URL, without ``/v1``)."""

    base: str
    kind: TokenizerKind
    model: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None

    def ids(self, text: str) -> list[int]:
        if self.kind == "vllm":
            body: dict[str, object] = {"prompt": text, "add_special_tokens": False}
            path = "/tokenize"
        else:
            body, path = {"input": text}, "/extras/tokenize"
        if self.model:
            body["model"] = self.model
        reply = post_json(self.base + path, body, self.headers, self.tls)
        tokens = reply.get("tokens")
        if not isinstance(tokens, list):
            raise LoadError(f"{self.base}{path} answered without a token list: {str(reply)[:200]}")
        return [int(t) for t in tokens]


class FileTokenizer:
    """A Hugging Face ``tokenizer.json``, read with the ``tokenizers`` package."""

    kind: TokenizerKind = "file"

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer as HfTokenizer
        except ImportError as exc:
            raise LoadError(
                f"tokenizer {path}: the tokenizers package is not installed (pip install tokenizers)"
            ) from exc
        if not path.is_file():
            raise LoadError(f"tokenizer {path}: no such file")
        self._tok = HfTokenizer.from_file(str(path))

    def ids(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)


def tls_context(ca_bundle: str | None, insecure: bool) -> ssl.SSLContext:
    """The load's TLS settings for these side requests: verified (against ``ca_bundle`` if named) unless
    ``insecure``."""
    context = ssl.create_default_context(cafile=ca_bundle)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def post_json(
    url: str,
    body: Mapping[str, object],
    headers: Mapping[str, str],
    tls: ssl.SSLContext | None,
    timeout_s: float = 10.0,
) -> dict[str, object]:
    """POST ``body`` as JSON; the JSON object answered ({} for another value). Raises LoadError."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=tls) as response:
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LoadError(f"{url}: {exc}") from exc
    return reply if isinstance(reply, dict) else {}


def open_tokenizer(
    setting: str, base: str, model: str | None, headers: Mapping[str, str], tls: ssl.SSLContext | None = None
) -> Tokenizer:
    """``setting`` ``server``: the server's endpoint, whichever of vLLM's or llama-cpp-python's answers;
    else a tokenizer.json path. Raises LoadError naming what was tried."""
    if setting != "server":
        return FileTokenizer(Path(setting))
    root = base.removesuffix("/v1")
    tried = []
    kinds: tuple[TokenizerKind, ...] = ("vllm", "llama-cpp")
    for kind in kinds:
        candidate = ServerTokenizer(root, kind, model, headers, tls)
        try:
            candidate.ids("hello")
            return candidate
        except LoadError as exc:
            tried.append(str(exc))
    raise LoadError(
        "the server has no tokenize endpoint (tried " + "; ".join(tried) + "): name a local tokenizer.json as "
        "workload.tokenizer"
    )
