"""smolagents' built-in tools, same names, inputs and output text. They run in the agent
process (they may use the network; the sandbox never does), except PythonInterpreterTool,
whose code runs in a sandcell session.

Every networked tool takes its endpoint as a constructor argument (or environment variable),
so it can be pointed at a mirror, a proxy, or a loopback server in tests.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import Any

from agent.tools import FinalAnswerTool, Tool

__all__ = ["DuckDuckGoSearchTool", "VisitWebpageTool", "WikipediaSearchTool", "PythonInterpreterTool",
           "FinalAnswerTool", "UserInputTool", "TOOL_MAPPING", "base_tools"]


class DuckDuckGoSearchTool(Tool):
    """Web search through the `ddgs` library. `search_url` (or $SANDCELL_DDG_SEARCH_URL) sends
    the DuckDuckGo HTML-endpoint query there instead, through the same client and parser."""

    name = "web_search"
    description = ("Performs a duckduckgo web search based on your query (think a Google search) then returns "
                   "the top search results.")
    inputs = {"query": {"type": "string", "description": "The search query to perform."}}
    output_type = "string"

    def __init__(self, max_results: int = 10, rate_limit: float | None = 1.0, *, search_url: str | None = None,
                 **kwargs: Any):
        super().__init__()
        try:
            from ddgs import DDGS
        except ImportError as exc:
            raise ImportError("DuckDuckGoSearchTool needs `ddgs`: pip install 'sandcell[tools]'") from exc
        self.max_results = max_results
        self.rate_limit = rate_limit
        self._min_interval = 1.0 / rate_limit if rate_limit else 0.0
        self._last_request_time = 0.0
        self.ddgs = DDGS(**kwargs)
        self.backend = "auto"
        search_url = search_url or os.environ.get("SANDCELL_DDG_SEARCH_URL")
        if search_url:
            from ddgs.engines.duckduckgo import Duckduckgo

            # One DuckDuckGo engine instance aimed at search_url, in the cache DDGS consults
            # before building its own (ddgs has no public switch for the endpoint).
            engine = Duckduckgo(proxy=self.ddgs._proxy, timeout=self.ddgs._timeout, verify=self.ddgs._verify)
            engine.search_url = search_url
            self.ddgs._engines_cache[Duckduckgo] = engine
            self.backend = "duckduckgo"

    def forward(self, query: str) -> str:
        self._enforce_rate_limit()
        results = self.ddgs.text(query, max_results=self.max_results, backend=self.backend)
        if len(results) == 0:
            raise Exception("No results found! Try a less restrictive/shorter query.")
        return "## Search Results\n\n" + "\n\n".join(f"[{r['title']}]({r['href']})\n{r['body']}" for r in results)

    def _enforce_rate_limit(self) -> None:
        if not self.rate_limit:
            return
        elapsed = time.time() - self._last_request_time
        if elapsed < self._min_interval:
            time.sleep(self._min_interval - elapsed)
        self._last_request_time = time.time()


class VisitWebpageTool(Tool):
    name = "visit_webpage"
    description = ("Visits a webpage at the given url and reads its content as a markdown string. "
                   "Use this to browse webpages.")
    inputs = {"url": {"type": "string", "description": "The url of the webpage to visit."}}
    output_type = "string"

    def __init__(self, max_output_length: int = 40000, timeout_s: float = 20.0):
        super().__init__()
        self.max_output_length = max_output_length
        self.timeout_s = timeout_s

    def forward(self, url: str) -> str:
        try:
            import requests
            from markdownify import markdownify
        except ImportError as exc:
            raise ImportError("VisitWebpageTool needs `requests` and `markdownify`: "
                              "pip install 'sandcell[tools]'") from exc
        try:
            response = requests.get(url, timeout=self.timeout_s)
            response.raise_for_status()
        except requests.exceptions.Timeout:
            return "The request timed out. Please try again later or check the URL."
        except requests.exceptions.RequestException as exc:
            return f"Error fetching the webpage: {exc}"
        content = re.sub(r"\n{3,}", "\n\n", markdownify(response.text).strip())
        if len(content) > self.max_output_length:
            content = (content[:self.max_output_length]
                       + f"\n..._This content has been truncated to stay below {self.max_output_length} characters_...\n")
        return content


def _rewrite_transport(api_url: str) -> Any:
    """An httpx transport sending every request to api_url (keeping its query string)."""
    import httpx

    target = httpx.URL(api_url)

    class _To(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.url = target.copy_with(query=request.url.query)
            request.headers["Host"] = target.netloc.decode()
            return super().handle_request(request)

    return _To()


class WikipediaSearchTool(Tool):
    """Through `wikipedia-api`. `api_url` (or $SANDCELL_WIKIPEDIA_API_URL) replaces
    https://<language>.wikipedia.org/w/api.php, e.g. for a MediaWiki mirror."""

    name = "wikipedia_search"
    description = ("Searches Wikipedia and returns a summary or full text of the given topic, "
                   "along with the page URL.")
    inputs = {"query": {"type": "string", "description": "The topic to search on Wikipedia."}}
    output_type = "string"

    def __init__(self, user_agent: str = "sandcell-agent (https://github.com/sandcell)", language: str = "en",
                 content_type: str = "text", extract_format: str = "WIKI", *, api_url: str | None = None):
        super().__init__()
        try:
            import wikipediaapi
        except ImportError as exc:
            raise ImportError("WikipediaSearchTool needs `wikipedia-api`: pip install 'sandcell[tools]'") from exc
        if not user_agent:
            raise ValueError("User-agent is required. Provide a meaningful identifier for your project.")
        formats = {"WIKI": wikipediaapi.ExtractFormat.WIKI, "HTML": wikipediaapi.ExtractFormat.HTML}
        if extract_format not in formats:
            raise ValueError("Invalid extract_format. Choose between 'WIKI' or 'HTML'.")
        if content_type not in ("summary", "text"):
            raise ValueError("Invalid content_type. Choose between 'summary' or 'text'.")
        self.user_agent, self.language, self.content_type = user_agent, language, content_type
        api_url = api_url or os.environ.get("SANDCELL_WIKIPEDIA_API_URL")
        extra = {"transport": _rewrite_transport(api_url)} if api_url else {}
        self.wiki = wikipediaapi.Wikipedia(user_agent=user_agent, language=language,
                                           extract_format=formats[extract_format], **extra)

    def forward(self, query: str) -> str:
        try:
            page = self.wiki.page(query)
            if not page.exists():
                return f"No Wikipedia page found for '{query}'. Try a different query."
            text = page.summary if self.content_type == "summary" else page.text
            return f"✅ **Wikipedia Page:** {page.title}\n\n**Content:** {text}\n\n🔗 **Read more:** {page.fullurl}"
        except Exception as exc:  # the model should hear what failed, as in smolagents
            return f"Error fetching Wikipedia summary: {exc}"


class PythonInterpreterTool(Tool):
    """Runs Python in a sandcell session (not in this process): for agents that call tools
    rather than write code. Variables persist across calls within one tool instance."""

    name = "python_interpreter"
    inputs = {"code": {"type": "string", "description": "The python code to run in interpreter"}}
    output_type = "string"

    def __init__(self, authorized_imports: Sequence[str] | None = None, *, executor: Any = None,
                 executor_token: str | None = None, timeout_seconds: float | None = None):
        self.authorized_imports = list(authorized_imports or ())
        self.description = ("This is a tool that evaluates python code. It can be used to perform calculations. "
                            "The code runs in a sandbox; it can only import the standard modules the sandbox "
                            f"allows, plus: {self.authorized_imports or 'nothing else'}.")
        super().__init__()
        self._executor_arg, self._executor_token = executor, executor_token
        self.wall_timeout_ms = int(timeout_seconds * 1000) if timeout_seconds else None
        self._conn: Any = None
        self._owns_conn = False
        self.session: Any = None

    def _session(self) -> Any:
        from agent.executor_conn import ExecutorConnection, open_executor

        if self.session is None:
            if isinstance(self._executor_arg, ExecutorConnection):
                self._conn = self._executor_arg
            else:
                self._conn = open_executor(self._executor_arg, self._executor_token, imports=self.authorized_imports)
                self._owns_conn = True
            self.session = self._conn.client.create_session(extra_imports=self.authorized_imports)
        return self.session

    def forward(self, code: str) -> str:
        from agent.sandbox_values import describe_failure

        r = self._session().execute(code, wall_timeout_ms=self.wall_timeout_ms)
        logs = r.stdout + (f"\n{r.stderr}" if r.stderr else "")
        if not (r.ok or r.is_final_answer):
            raise RuntimeError(describe_failure(r) + (f"\nStdout:\n{logs}" if logs else ""))
        shown = r.value.repr if r.value is not None else "None"
        return f"Stdout:\n{logs}\nOutput: {shown}"

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # executor already gone: its idle TTL frees the session
                pass
        if self._owns_conn and self._conn is not None:
            self._conn.close()
            self._owns_conn = False


class UserInputTool(Tool):
    name = "user_input"
    description = "Asks for user's input on a specific question"
    inputs = {"question": {"type": "string", "description": "The question to ask the user"}}
    output_type = "string"

    def forward(self, question: str) -> str:
        return input(f"{question} => Type your answer here:")


TOOL_MAPPING: dict[str, type[Tool]] = {cls.name: cls for cls in (
    PythonInterpreterTool, DuckDuckGoSearchTool, VisitWebpageTool, WikipediaSearchTool, UserInputTool)}


def base_tools(include_python: bool) -> list[Tool]:
    """What add_base_tools=True adds, as in smolagents: search and page visits (and the Python
    interpreter for agents that do not write code themselves)."""
    tools: list[Tool] = [DuckDuckGoSearchTool(), VisitWebpageTool()]
    if include_python:
        tools.insert(0, PythonInterpreterTool())
    return tools
