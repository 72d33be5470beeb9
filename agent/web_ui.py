"""A small web UI for an agent (smolagents' `GradioUI` name, without Gradio): a page where a
task is typed, and the run's steps, code, live output and final answer appear as they stream
(server-sent events). Served by the standard library on loopback by default.

    GradioUI(agent).launch()            # http://127.0.0.1:7860
    agent ui --model ...                # the same from the command line
"""
from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent.memory import ActionStep, FinalAnswerStep, PlanningStep
from agent.models.streaming import ChatMessageStreamDelta

__all__ = ["GradioUI", "WebUI"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sandcell agent</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
 textarea { width: 100%; height: 4rem; } pre { background: #f4f4f4; padding: .5rem; white-space: pre-wrap; }
 .step { border-left: 3px solid #888; padding-left: .8rem; margin: 1rem 0; } .error { color: #b00; }
 #final-answer { border: 2px solid #2a2; padding: .8rem; } .plan { border-left-color: #44c; }
</style></head>
<body>
<h1>__TITLE__</h1>
<form id="task-form"><textarea id="task" placeholder="Your task"></textarea><br>
<button id="run" type="submit">Run</button> <span id="status"></span></form>
<pre id="live" hidden></pre>
<div id="steps"></div>
<div id="final-answer" hidden></div>
<script>
const $ = (id) => document.getElementById(id);
function add(parent, tag, cls, text) {   // text only: model output is never parsed as HTML
  const el = document.createElement(tag); if (cls) el.className = cls; el.textContent = text;
  parent.appendChild(el); return el;
}
function stepBox(n) {
  let box = document.querySelector(`.step[data-step="${n}"]`);
  if (!box) { box = add($("steps"), "div", "step", ""); box.dataset.step = n; add(box, "h3", "", `Step ${n}`); }
  return box;
}
$("task-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const task = $("task").value.trim(); if (!task) return;
  $("steps").replaceChildren(); $("final-answer").hidden = true; $("live").textContent = "";
  $("run").disabled = true; $("status").textContent = "running…";
  const source = new EventSource("/stream?task=" + encodeURIComponent(task));
  let output = null;
  source.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    if (ev.type === "delta") { $("live").hidden = false; $("live").textContent += ev.text; }
    else if (ev.type === "plan") { const b = add($("steps"), "div", "step plan", ""); add(b, "h3", "", "Plan"); add(b, "pre", "", ev.text); }
    else if (ev.type === "code") {
      const b = stepBox(ev.step); $("live").textContent = ""; $("live").hidden = true;
      if (ev.thought) add(b, "p", "thought", ev.thought);
      add(b, "pre", "code", ev.code); output = add(b, "pre", "output", "");
    }
    else if (ev.type === "output") { if (output) output.textContent += ev.text; }
    else if (ev.type === "step") {
      const b = stepBox(ev.step); $("live").textContent = ""; $("live").hidden = true;
      if (!b.querySelector(".code") && ev.thought) add(b, "p", "thought", ev.thought);
      for (const call of ev.tool_calls) add(b, "pre", "tool-call", call);
      if (ev.observations) add(b, "pre", "observation", ev.observations);
      if (ev.error) add(b, "div", "error", ev.error);
      add(b, "small", "timing", ev.footer); output = null;
    }
    else if (ev.type === "final") { $("final-answer").hidden = false; $("final-answer").textContent = ev.answer; }
    else if (ev.type === "error") { add($("steps"), "div", "error run-error", ev.message); }
    else if (ev.type === "done") { source.close(); $("run").disabled = false; $("status").textContent = "done"; }
  };
  source.onerror = () => { source.close(); $("run").disabled = false; $("status").textContent = "disconnected"; };
});
</script></body></html>
"""


def _thought(text: str | None, open_tag: str) -> str:
    return (text or "").split(open_tag)[0].split("<code>")[0].split("```")[0].strip()


class WebUI:
    """Serves one agent; runs are one at a time (an agent holds one memory and one session)."""

    def __init__(self, agent: Any, file_upload_folder: str | None = None, reset_agent_memory: bool = False):
        if file_upload_folder is not None:
            raise TypeError("file_upload_folder is not supported: files reach a sandcell agent as additional_args "
                            "or through a tool you give it")
        self.agent = agent
        self.reset_agent_memory = reset_agent_memory
        self.name = getattr(agent, "name", None) or "sandcell agent"
        self._busy = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- serving ----
    def launch(self, share: bool = False, server_name: str = "127.0.0.1", server_port: int | None = 7860,
               block: bool = True, **kwargs: Any) -> str:
        """Serves the UI; returns its URL (with block=False, at once; else after Ctrl-C).
        `server_port=0` picks a free port."""
        if share:
            raise TypeError("share=True (a public Gradio tunnel) is not offered: the UI serves on loopback; "
                            "put it behind your own reverse proxy to reach it from elsewhere")
        if kwargs:
            raise TypeError(f"launch() got unsupported arguments: {', '.join(kwargs)}")
        self._server = ThreadingHTTPServer((server_name, server_port or 0), self._handler())
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        url = f"http://{host}:{port}/"
        if not block:
            self._thread = threading.Thread(target=self._server.serve_forever, name="agent-ui", daemon=True)
            self._thread.start()
            return url
        print(f"sandcell agent UI on {url}", flush=True)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()
        return url

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
            server.server_close()

    # ---- one run, as events ----
    def events(self, task: str):
        """The run as JSON-able events, as they happen: delta, plan, code, output, step, final,
        error, done. The agent runs in a thread of its own so that the code it is about to run
        and the output it prints reach the page while the step is still going."""
        agent = self.agent
        q: queue.Queue = queue.Queue()
        open_tag = getattr(agent, "code_block_tags", ("<code>",))[0]
        hooks: dict[str, Any] = {}
        if hasattr(agent, "before_execute"):
            hooks = {"before_execute": agent.before_execute, "on_output": agent.on_output}

            def before(step: ActionStep) -> None:
                q.put({"type": "code", "step": step.step_number, "code": step.code_action or "",
                       "thought": _thought(step.model_output, open_tag)})
                if hooks["before_execute"]:
                    hooks["before_execute"](step)

            def output(stream: str, text: str) -> None:
                q.put({"type": "output", "stream": stream, "text": text})
                if hooks["on_output"]:
                    hooks["on_output"](stream, text)

            agent.before_execute, agent.on_output = before, output

        def run() -> None:
            try:
                for event in agent.run(task, stream=True, reset=self.reset_agent_memory or not agent.memory.steps):
                    ev = _event(event, open_tag)
                    if ev is not None:
                        q.put(ev)
            except Exception as exc:  # the page shows why the run stopped (model or executor failure)
                q.put({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
            finally:
                for name, fn in hooks.items():
                    setattr(agent, name, fn)
                q.put({"type": "done"})

        threading.Thread(target=run, name="agent-ui-run", daemon=True).start()
        while True:
            ev = q.get()
            yield ev
            if ev["type"] == "done":
                return

    def _handler(self):
        ui = self
        page = _PAGE.replace("__TITLE__", self.name.replace("<", "&lt;").replace("&", "&amp;"))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/":
                    data = page.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif url.path == "/stream":
                    self._stream(parse_qs(url.query).get("task", [""])[0])
                else:
                    self.send_error(404)

            def _stream(self, task: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if not task.strip():
                    events: Any = iter([{"type": "error", "message": "empty task"}, {"type": "done"}])
                elif not ui._busy.acquire(blocking=False):
                    events = iter([{"type": "error", "message": "the agent is busy with another run"},
                                   {"type": "done"}])
                else:
                    events = None
                run = ui.events(task) if events is None else events
                try:
                    for ev in run:
                        self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the page went away: the run still ends before the next may start
                finally:
                    if events is None:
                        for _ in run:
                            pass
                        ui._busy.release()

        return Handler


def _event(event: Any, open_tag: str) -> dict | None:
    if isinstance(event, ChatMessageStreamDelta):
        return {"type": "delta", "text": event.content} if event.content else None
    if isinstance(event, PlanningStep):
        return {"type": "plan", "text": event.plan}
    if isinstance(event, FinalAnswerStep):
        return {"type": "final", "answer": str(event.output)}
    if not isinstance(event, ActionStep):
        return None
    tokens = event.token_usage
    return {"type": "step", "step": event.step_number, "thought": _thought(event.model_output, open_tag),
            "tool_calls": [f"{c.name}({json.dumps(c.arguments, default=str)})"
                           for c in event.tool_calls if not event.code_action],
            "observations": event.observations or "",
            "error": f"{type(event.error).__name__}: {event.error}" if event.error else "",
            "footer": f"Step {event.step_number}: {event.timing.duration_s or 0:.2f}s"
                      + (f" | tokens in {tokens.input_tokens}, out {tokens.output_tokens}" if tokens else "")}


# smolagents' name for it
GradioUI = WebUI
