"""Issue 15 item 4: the web UI (GradioUI / `agent ui`), driven in a real headless browser
(Debian's chromium through chromedriver and Selenium): a task typed in the page gets its steps,
code, live output and final answer streamed from the scripted model and the real executor."""
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from sandcell.agent import CodeAgent, GradioUI, ToolCallingAgent, tool
from scripted_llm import Reply, calls, text
from test_agent_smolagents_keywords import code, openai_model

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    # an explicit driver path: Selenium Manager would otherwise try to download one
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def submit(browser, url: str, task: str) -> None:
    browser.get(url)
    browser.find_element(By.ID, "task").send_keys(task)
    browser.find_element(By.ID, "run").click()


def wait_text(browser, css: str, fragment: str, timeout: float = 30) -> None:
    WebDriverWait(browser, timeout).until(
        lambda b: any(fragment in e.text for e in b.find_elements(By.CSS_SELECTOR, css)),
        f"{fragment!r} never appeared in {css}")


def test_steps_code_live_output_and_answer_stream_into_the_page(browser, llm, executor):
    release = threading.Event()

    @tool
    def slow_lookup(key: str) -> str:
        """Looks a key up, slowly.

        Args:
            key: the key
        """
        release.wait(30)  # holds the step open while the test looks at the page
        return key.upper()

    llm.script(text(code("print('looking up', 'abc')\nv = slow_lookup(key='abc')\nprint(v)",
                         thought="Thought: I will look it up")),
               text(code("final_answer(v + '!')")))
    agent = CodeAgent([slow_lookup], openai_model(llm), executor=executor, verbosity_level=-1)
    ui = GradioUI(agent)
    url = ui.launch(server_port=0, block=False)
    try:
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        submit(browser, url, "Look up abc <b>bold?</b>")
        # while step 1 is still running: its code and what it printed so far are on the page
        wait_text(browser, ".step .code", "v = slow_lookup(key='abc')")
        wait_text(browser, ".step .output", "looking up abc")
        assert browser.find_element(By.ID, "final-answer").is_displayed() is False
        assert "I will look it up" in browser.find_element(By.CSS_SELECTOR, ".step .thought").text
        release.set()
        wait_text(browser, "#final-answer", "ABC!")
        wait_text(browser, "#status", "done")
        steps = browser.find_elements(By.CSS_SELECTOR, ".step")
        assert [s.get_attribute("data-step") for s in steps] == ["1", "2"]
        assert "Step 1:" in steps[0].find_element(By.CSS_SELECTOR, ".timing").text
        # model text is shown as text, never parsed as HTML
        assert not browser.find_elements(By.CSS_SELECTOR, "#steps b")
    finally:
        release.set()
        ui.close()
        agent.close()


def test_tool_calls_errors_and_streamed_tokens(browser, llm):
    @tool
    def double(x: int) -> int:
        """Doubles x.

        Args:
            x: a number
        """
        return 2 * x

    llm.script(calls(("nope", {})), calls(("double", {"x": 21})),
               Reply(tool_calls=[{"name": "final_answer", "arguments": {"answer": "42"}}]))
    agent = ToolCallingAgent([double], openai_model(llm), verbosity_level=-1, stream_outputs=True)
    ui = GradioUI(agent)
    url = ui.launch(server_port=0, block=False)
    try:
        submit(browser, url, "double 21")
        wait_text(browser, "#final-answer", "42")
        wait_text(browser, ".step .error", "Unknown tool 'nope'")
        wait_text(browser, ".step .tool-call", 'double({"x": 21})')
        wait_text(browser, ".step .observation", "Observation for double: 42")
        assert all(r["stream"] for r in llm.requests)
    finally:
        ui.close()


def test_agent_ui_command_serves_the_page_and_streams_a_run(llm, agent_executor_address):
    llm.script(text(code("print('hi from the sandbox')\nfinal_answer(6 * 7)")))
    env = {**os.environ, "OPENAI_API_KEY": "sk-ui", "OPENAI_BASE_URL": llm.base_url,
           "SANDCELL_EXECUTOR": agent_executor_address}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "ui", "--model-type", "openai", "--model", "m",
                             "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("sandcell agent UI on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(" on ", 1)[1].strip()
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert 'id="task"' in page and "EventSource" in page
        with urllib.request.urlopen(url + "stream?task=" + urllib.parse.quote("six times seven"), timeout=60) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            events = [json.loads(l[6:]) for l in r.read().decode().splitlines() if l.startswith("data: ")]
        kinds = [e["type"] for e in events]
        assert kinds.index("code") < kinds.index("output") < kinds.index("step") < kinds.index("final")
        assert kinds[-1] == "done" and {"type": "final", "answer": "42"} in events
        assert any(e["type"] == "output" and "hi from the sandbox" in e["text"] for e in events)
    finally:
        proc.terminate()
        proc.wait(20)


def test_share_is_refused_with_what_to_do(llm):
    agent = ToolCallingAgent([], openai_model(llm))
    with pytest.raises(TypeError, match="reverse proxy"):
        GradioUI(agent).launch(share=True)
