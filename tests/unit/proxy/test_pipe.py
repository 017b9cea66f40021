"""The pipe's ordering and timing, on a real event loop with a recording destination."""

import asyncio

import pytest

from chaoslib_ext.proxy.pipe import Pipe


class Recorder:
    """Stands in for the destination socket's transport: records what is written and when."""

    def __init__(self, loop):
        self.loop = loop
        self.writes = []
        self.eof = False
        self.closed = False

    def write(self, data):
        self.writes.append((self.loop.time(), data))

    def is_closing(self):
        return self.closed

    def can_write_eof(self):
        return True

    def write_eof(self):
        self.eof = True

    def close(self):
        self.closed = True


def run(scenario):
    async def main():
        loop = asyncio.get_running_loop()
        dest = Recorder(loop)
        delays = []
        flow = []
        pipe = Pipe(loop, lambda: delays.pop(0) if delays else 0.0, flow.append)
        pipe.attach(dest)
        await scenario(loop, pipe, delays)
        return dest, flow

    return asyncio.run(main())


def test_without_delay_bytes_go_out_at_once():
    async def scenario(loop, pipe, delays):
        pipe.push(b"a")
        pipe.push(b"b")

    dest, _ = run(scenario)
    assert [d for _, d in dest.writes] == [b"a", b"b"]


def test_delayed_chunks_arrive_after_their_delay_in_order():
    async def scenario(loop, pipe, delays):
        delays.extend([0.05, 0.05])
        start = loop.time()
        pipe.push(b"a")
        pipe.push(b"b")
        await asyncio.sleep(0.12)
        scenario.start = start

    dest, _ = run(scenario)
    assert [d for _, d in dest.writes] == [b"a", b"b"]
    assert dest.writes[0][0] - scenario.start == pytest.approx(0.05, abs=0.01)


def test_a_shorter_delay_never_overtakes_a_longer_one():
    async def scenario(loop, pipe, delays):
        delays.extend([0.08, 0.0, 0.01])
        pipe.push(b"first")
        pipe.push(b"second")  # no delay of its own, but queued behind the first
        pipe.push(b"third")
        await asyncio.sleep(0.15)

    dest, _ = run(scenario)
    assert [d for _, d in dest.writes] == [b"first", b"second", b"third"]


def test_eof_and_close_wait_for_queued_bytes():
    async def scenario(loop, pipe, delays):
        delays.append(0.03)
        pipe.push(b"late")
        pipe.push_eof()
        pipe.finish()
        await asyncio.sleep(0.01)
        assert not scenario_state(pipe)
        await asyncio.sleep(0.05)

    def scenario_state(pipe):
        return pipe._dest.closed

    dest, _ = run(scenario)
    assert [d for _, d in dest.writes] == [b"late"]
    assert dest.eof
    assert dest.closed


def test_chunks_before_the_destination_exists_are_kept():
    async def main():
        loop = asyncio.get_running_loop()
        pipe = Pipe(loop, lambda: 0.0, lambda resume: None)
        pipe.push(b"early")
        dest = Recorder(loop)
        pipe.attach(dest)
        return dest

    dest = asyncio.run(main())
    assert [d for _, d in dest.writes] == [b"early"]
