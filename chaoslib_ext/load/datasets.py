"""Prompt datasets: JSON lines in OpenAI chat format or ShareGPT format, as conversations to send.

    openai     {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
               the messages up to the last user message are the prompt; an assistant message after
               it is the reply, whose length becomes the request's output length
    sharegpt   {"conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}]}
               the first human turn is the prompt and the gpt turn after it the reply (as vLLM's
               ``bench serve`` reads ShareGPT); a JSON array of such objects is read too

A line that cannot be read is an error naming the file, the line and what it lacks (SpecError).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaoslib_ext.exceptions import SpecError

__all__ = ["Conversation", "read_dataset"]

#: (the prompt's chat messages, the reply's text or "")
Conversation = tuple[list[dict[str, str]], str]
_ROLES = ("system", "user", "assistant")


def read_dataset(path: Path, fmt: str) -> list[Conversation]:
    where = f"{path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("workload.dataset.path", f"{path}: {exc.strerror or exc}") from exc
    rows = _rows(text, where)
    out = [(_openai if fmt == "openai" else _sharegpt)(row, f"{where}:{line}") for line, row in rows]
    if not out:
        raise SpecError("workload.dataset.path", f"{path}: no conversation in it")
    return out


def _rows(text: str, where: str) -> list[tuple[int, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # one JSON array (ShareGPT's usual file)
        try:
            return [(1, row) for row in json.loads(text)]
        except ValueError as exc:
            raise SpecError("workload.dataset.path", f"{where}: not JSON: {exc}") from exc
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except ValueError as exc:
            raise SpecError("workload.dataset.path", f"{where}:{n}: not a JSON line: {exc}") from exc
    return rows


def _openai(row: Any, where: str) -> Conversation:
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise SpecError("messages", f"{where}: no messages list", '{"messages": [{"role": "user", "content": "..."}]}')
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise SpecError(f"messages[{i}]", f"{where}: not a chat message", "role: system|user|assistant, content")
        clean.append({"role": m["role"], "content": m["content"]})
    last_user = max((i for i, m in enumerate(clean) if m["role"] == "user"), default=None)
    if last_user is None:
        raise SpecError("messages", f"{where}: no user message")
    after = clean[last_user + 1 :]
    reply = after[0]["content"] if after and after[0]["role"] == "assistant" else ""
    return clean[: last_user + 1], reply


def _sharegpt(row: Any, where: str) -> Conversation:
    turns = row.get("conversations") if isinstance(row, dict) else None
    if not isinstance(turns, list):
        raise SpecError(
            "conversations", f"{where}: no conversations list", '{"conversations": [{"from": "human", ...}]}'
        )
    for i, turn in enumerate(turns):
        if isinstance(turn, dict) and turn.get("from") == "human" and isinstance(turn.get("value"), str):
            nxt = turns[i + 1] if i + 1 < len(turns) else None
            ok = isinstance(nxt, dict) and nxt.get("from") == "gpt" and isinstance(nxt.get("value"), str)
            return [{"role": "user", "content": turn["value"]}], nxt["value"] if ok else ""  # type: ignore[index]
    raise SpecError("conversations", f"{where}: no human turn", '{"from": "human", "value": "..."}')
