"""The game day console: a Textual app over one run's control endpoint (it orchestrates nothing: every key
is a request to the run, which does it with its own controls, ledger and timeline).

Refreshed every second from ``GET /status``: the phase, TTFT p50/p99, ITL p99, output tok/s, error rate
and requests in flight, each hypothesis's live value against its bound, the faults in force with the
time they have left, the method's steps, TTFT p99 per second with the faults' seconds on red, the
latest events. Keys (the footer lists them): n next step, s skip it, p pick one, h hold / release,
e extend the first fault 30 s, r roll back one fault, R roll back all, A ABORT, : note, o steady state
OK, x steady state NOT OK, q quit (the console of ``chaosllm gameday`` owns its run: while it runs, q
twice aborts it; one attached with ``chaosllm console`` leaves the run alone).
"""

from __future__ import annotations

import subprocess
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Static

from chaoslib_ext.console import view
from chaoslib_ext.console.client import ControlClient
from chaoslib_ext.exceptions import ControlError

__all__ = ["GameDayConsole"]

#: what a prompt's answer becomes: (path, the body's key for the text), by prompt
_PROMPTS = {
    "note": ("/note", "text", "what do you see? (Enter: note it, Esc: cancel)"),
    "not-ok": ("/observation", "text", "steady state NOT OK: what is wrong? (Enter, Esc)"),
    "pick": ("/steps/pick", "index", "run which step next? its number (Enter, Esc)"),
    "rollback": ("/faults/{}/rollback", "", "roll back which fault? its id (Enter, Esc)"),
}


class GameDayConsole(App[int]):
    TITLE = "chaosllm game day"
    CSS = """
    #header { height: 1; }
    #live { height: 1; margin-bottom: 1; }
    #tables { height: auto; }
    #hypotheses { width: 3fr; }
    #faults { width: 2fr; }
    #steps { height: auto; margin-top: 1; }
    #series { height: 2; margin-top: 1; }
    #log { height: 1fr; border: round $primary; }
    #message { height: 1; color: $warning; }
    #prompt { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "post('/steps/next')", "next step"),
        Binding("s", "post('/steps/skip')", "skip"),
        Binding("p", "ask('pick')", "pick"),
        Binding("h", "hold", "hold/release"),
        Binding("e", "extend", "extend +30s"),
        Binding("r", "ask('rollback')", "roll back one"),
        Binding("R", "post('/faults/rollback')", "roll back all"),
        Binding("A", "abort", "ABORT"),
        Binding("colon", "ask('note')", "note"),
        Binding("o", "observe(True)", "steady OK"),
        Binding("x", "ask('not-ok')", "steady NOT OK"),
        Binding("q", "quit_console", "quit"),
    ]

    def __init__(self, client: ControlClient, title: str, run: subprocess.Popen[bytes] | None, who: str | None) -> None:
        super().__init__()
        self.client, self.run_title, self.process, self.who = client, title, run, who
        self.status: dict[str, Any] = {}
        self.ended: int | None = None
        self._asking: str | None = None
        self._quit_armed = False

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="live")
        with Horizontal(id="tables"):
            yield Static(id="hypotheses")
            yield Static(id="faults")
        yield Static(id="steps")
        yield Static(id="series")
        with VerticalScroll(id="log"):
            yield Static(id="events")
        yield Static(id="message")
        yield Input(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(1.0, self.poll)

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        try:
            status = self.client.status()
        except ControlError as exc:
            code = self.process.poll() if self.process is not None else None
            self.call_from_thread(self._lost, code, str(exc))
            return
        self.call_from_thread(self.show, status)

    def show(self, status: dict[str, Any]) -> None:
        self.status = status
        width = max(20, self.size.width - 2)
        self.query_one("#header", Static).update(view.header(status, self.run_title))
        self.query_one("#live", Static).update(view.live_line(status))
        self.query_one("#hypotheses", Static).update(view.hypotheses_table(status))
        self.query_one("#faults", Static).update(view.faults_table(status))
        self.query_one("#steps", Static).update(view.steps_text(status))
        self.query_one("#series", Static).update(view.series_text(status, width))
        self.query_one("#events", Static).update(view.log_text(status, 200))
        self.query_one("#log", VerticalScroll).scroll_end(animate=False)

    def _lost(self, code: int | None, why: str) -> None:
        if code is None:
            self.say(why if self.process is not None else f"{why} (the run may have ended). q quits.")
            return
        self.ended = code
        self.say(f"the run ended: exit code {code} (its report is written). q quits.")

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    # -- keys ---------------------------------------------------------------------------------------
    def action_post(self, path: str, body: dict[str, Any] | None = None) -> None:
        self._send(path, {**(body or {}), "who": self.who} if self.who else dict(body or {}))

    @work(thread=True, group="send")
    def _send(self, path: str, body: dict[str, Any]) -> None:
        try:
            answer = self.client.post(path, body, timeout_s=120)
        except ControlError as exc:
            self.call_from_thread(self.say, f"{path}: {exc}")
            return
        self.call_from_thread(self.say, f"{path}: {_said(answer)}")
        self.call_from_thread(self.poll)

    def action_abort(self) -> None:
        self.say("ABORTING: removing every fault ...")
        self.action_post("/abort", {"reason": "abort key in the game day console"})

    def action_hold(self) -> None:
        held = bool((self.status.get("steps") or {}).get("held"))
        self.action_post("/steps/release" if held else "/steps/hold")

    def action_extend(self) -> None:
        faults = self.status.get("faults") or []
        if not faults:
            self.say("no fault in force to extend")
            return
        self.action_post(f"/faults/{faults[0]['id']}/extend", {"by": "30s"})

    def action_observe(self, ok: bool, text: str = "") -> None:
        self.action_post("/observation", {"ok": ok, "text": text})

    def action_ask(self, kind: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self._asking = kind
        prompt.placeholder = _PROMPTS[kind][2]
        prompt.value = ""
        prompt.display = True
        prompt.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        kind, text = self._asking, event.value.strip()
        self._close_prompt()
        if kind is None or not text:
            return
        path, key, _ = _PROMPTS[kind]
        if kind == "pick":
            if not text.isdigit():
                self.say(f"a step's number, not {text!r}")
                return
            self.action_post(path, {key: int(text)})
        elif kind == "rollback":
            self.action_post(path.format(text))
        elif kind == "not-ok":
            self.action_observe(False, text)
        else:
            self.action_post(path, {key: text})

    def key_escape(self) -> None:
        self._close_prompt()

    def _close_prompt(self) -> None:
        self._asking = None
        prompt = self.query_one("#prompt", Input)
        prompt.display = False
        self.set_focus(None)

    def action_quit_console(self) -> None:
        if self.process is None:  # a console attached to a run it does not own leaves the run alone
            self.exit(0)
            return
        if self.ended is not None or self.process.poll() is not None:
            self.exit(self.ended if self.ended is not None else self.process.poll())
            return
        if not self._quit_armed:
            self._quit_armed = True
            self.say("the run is still going: q again ABORTS it and quits the console")
            return
        self.action_abort()
        self.exit(None)


def _said(answer: dict[str, Any]) -> str:
    if "verified" in answer:
        left = answer.get("unverified") or {}
        tail = f"; NOT verified: {', '.join(left)}" if left else ""
        verified = ", ".join(answer["verified"]) or "none"
        return f"removed {', '.join(answer['removed']) or 'nothing'}; verified gone: {verified}{tail}"
    return ", ".join(f"{k}: {v}" for k, v in answer.items())
