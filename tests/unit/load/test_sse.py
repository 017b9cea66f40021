"""The SSE reader against what real servers send."""

from chaoslib_ext.sse import LineKind, StreamState, feed_line


def kinds(lines):
    state = StreamState()
    return [feed_line(line, state) for line in lines], state


def chunk(delta=None, text=None, usage=None, choices=True):
    import json

    body = {"id": "x", "object": "chat.completion.chunk"}
    if choices:
        choice = {"index": 0}
        if delta is not None:
            choice["delta"] = delta
        if text is not None:
            choice["text"] = text
        body["choices"] = [choice]
    else:
        body["choices"] = []
    if usage:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n"


def test_a_role_only_first_chunk_is_not_a_token():
    out, _ = kinds([chunk({"role": "assistant", "content": ""}), chunk({"content": "Hi"})])
    assert out == [LineKind.OTHER, LineKind.CONTENT]


def test_crlf_comments_and_other_fields_are_ignored():
    lines = [
        b": ping\r\n",
        b"id: 7\r\n",
        b"event: message\r\n",
        b"\r\n",
        chunk({"content": "a"}).replace(b"\n", b"\r\n"),
        b"data: [DONE]\r\n",
    ]
    out, _ = kinds(lines)
    assert out == [LineKind.OTHER] * 4 + [LineKind.CONTENT, LineKind.DONE]


def test_data_without_a_space_after_the_colon():
    out, _ = kinds([b'data:{"choices":[{"delta":{"content":"x"}}]}\n', b"data:[DONE]\n"])
    assert out == [LineKind.CONTENT, LineKind.DONE]


def test_the_usage_chunk_with_empty_choices_gives_the_token_count():
    out, state = kinds([chunk(usage={"completion_tokens": 42, "prompt_tokens": 7}, choices=False)])
    assert out == [LineKind.OTHER]
    assert (state.usage_tokens, state.prompt_tokens) == (42, 7)


def test_completions_text_and_reasoning_content_count_as_tokens():
    out, _ = kinds([chunk(text=" the"), chunk({"reasoning_content": "hmm"}), chunk(text="")])
    assert out == [LineKind.CONTENT, LineKind.CONTENT, LineKind.OTHER]


def test_an_error_inside_the_stream_is_reported():
    out, state = kinds([b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n'])
    assert out == [LineKind.ERROR]
    assert state.error == "overloaded"


def test_an_event_split_over_two_data_lines_is_joined():
    out, _ = kinds([b'data: {"choices": [{"delta":\n', b'data: {"content": "x"}}]}\n', b"\n"])
    assert out == [LineKind.OTHER, LineKind.CONTENT, LineKind.OTHER]


def test_the_server_embedded_ttft_is_kept_from_the_first_event_only():
    _, state = kinds(
        [
            b'data: {"choices":[{"delta":{"content":"a"}}],"x_server_ms":50.2}\n',
            b'data: {"choices":[{"delta":{"content":"b"}}],"x_server_ms":60.0}\n',
        ]
    )
    assert state.server_ttft_ms == 50.2


def test_an_event_whose_data_is_not_json_is_counted_malformed_also_when_the_body_ends_on_it():
    state = StreamState()
    for line in (b'data: {"choices": [{"delta": {"content": \n', b"\n", chunk({"content": "a"}), b"\n", b'data: {"ch'):
        feed_line(line, state)
    assert state.malformed == 1
    state.end()
    assert state.malformed == 2
