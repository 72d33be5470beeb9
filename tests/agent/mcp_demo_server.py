"""An MCP server for the tests, built with the official SDK: `python mcp_demo_server.py stdio`,
or `... http` (streamable HTTP on a loopback port it binds itself, printed as its first line)."""
import socket
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("sandcell-test-tools")


@server.tool()
def celsius_to_fahrenheit(celsius: float) -> str:
    """Converts a temperature from Celsius to Fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.1f} F"


@server.tool(name="word-count")
def word_count(text: str, unique: bool = False) -> int:
    """Counts the words in a text (only distinct words when unique is true)."""
    words = text.split()
    return len(set(words)) if unique else len(words)


@server.tool()
def fail_always(reason: str) -> str:
    """Always fails, with the given reason."""
    raise ValueError(reason)


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # connections queue from now on, before uvicorn is up
        print(sock.getsockname()[1], flush=True)
        app = server.streamable_http_app()
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
