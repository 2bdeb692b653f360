"""`rcm docs`: serve the AsyncAPI documentation on 127.0.0.1, with nothing fetched from outside."""

from __future__ import annotations

import threading
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from schemas.docs_html import render_html
from schemas.generate import ASYNCAPI_FILE, GENERATED_DIR

__all__ = ["DocsSite", "docs", "make_server"]

HOST = "127.0.0.1"
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'"


class DocsSite:
    """The files the docs server answers with, all read from the committed artifacts."""

    def __init__(self, generated_dir: Path = GENERATED_DIR) -> None:
        self.generated_dir = generated_dir
        self.asyncapi_file = generated_dir / ASYNCAPI_FILE.name

    @cached_property
    def asyncapi_text(self) -> str:
        return self.asyncapi_file.read_text(encoding="utf-8")

    @cached_property
    def page(self) -> str:
        document: Any = yaml.safe_load(self.asyncapi_text)
        return render_html(document)

    def get(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request path."""
        path = path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", self.page.encode("utf-8")
        if path == "/asyncapi.yaml":
            return 200, "application/yaml; charset=utf-8", self.asyncapi_text.encode("utf-8")
        if path.startswith("/jsonschema/"):
            name = path.removeprefix("/jsonschema/")
            candidate = self.generated_dir / "jsonschema" / name
            # Only plain file names from the generated directory: no traversal.
            if "/" not in name and name.endswith(".json") and candidate.is_file():
                return 200, "application/schema+json", candidate.read_bytes()
        return 404, "text/plain; charset=utf-8", b"not found\n"


def make_server(port: int = 8090, site: DocsSite | None = None) -> ThreadingHTTPServer:
    """An HTTP server bound to 127.0.0.1 (port 0 picks a free port)."""
    served = site or DocsSite()
    served.page  # noqa: B018 - render before listening so a broken document fails fast

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = served.get(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer((HOST, port), Handler)


def docs(
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port on 127.0.0.1.")] = 8090,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the HTML page to this file and exit.")
    ] = None,
) -> None:
    """Serve the event contract documentation (AsyncAPI) at http://127.0.0.1:PORT/."""
    site = DocsSite()
    if not site.asyncapi_file.is_file():
        typer.echo("schemas/generated/asyncapi.yaml is missing: run `rcm schemas generate`", err=True)
        raise typer.Exit(1)
    if output is not None:
        output.write_text(site.page, encoding="utf-8")
        typer.echo(f"wrote {output}")
        return
    try:
        server = make_server(port, site)
    except OSError as exc:
        typer.echo(f"cannot listen on {HOST}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Event contract docs at http://{HOST}:{server.server_address[1]}/  (Ctrl-C to stop)")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        server.shutdown()
        server.server_close()
