"""``orchestrator serve``: run pipelines unattended, by their schedules and triggers, until SIGTERM."""

from __future__ import annotations

import click

from orchestrator.cli.common import fail, load_plugins


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="CONFIG_OR_DIR...", type=click.Path(exists=True, path_type=str))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the web UI and API. Any address but a loopback one needs an access token.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Its port; 0 picks a free one.")
@click.option("--grace", default=30.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="After SIGTERM, how long running runs may take to finish before they are left resumable.")
@click.option("--lease-ttl", default=15.0, show_default=True, type=click.FloatRange(1), metavar="SECONDS",
              help="How long the scheduler lease outlives its last renewal: how soon another server on the same "
                   "state store takes over when this one dies. Renewed every third of it.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=str), metavar="PATH",
              help="A file whose first line is the access token every request must carry (or set "
                   "ORCHESTRATOR_SERVE_TOKEN). Needed to listen on any address but a loopback one.")
def serve(targets: tuple[str, ...], host: str, port: int, grace: float, lease_ttl: float, token_file: str | None) -> None:
    """Fire the schedules and triggers of pipeline files (a directory: every *.yaml in it) and run
    their pipelines, reloading a file when it changes. SIGTERM or Ctrl-C stops it."""
    import signal
    from datetime import timedelta

    try:
        from orchestrator.serve.api.security import TOKEN_ENV, TokenError, is_loopback, read_token
        from orchestrator.serve.server import Server
        from orchestrator.serve.web import HttpServer
    except ImportError as exc:
        fail(f"error: orchestrator serve needs the serve extra ({exc.name} is missing): pip install 'pipeline-orchestrator[serve]'")
    try:
        token = read_token(token_file)
    except TokenError as exc:
        fail(f"error: {exc}")
    if token is None and not is_loopback(host):
        fail(f"error: --host {host}: listening on an address other machines can reach needs an access token, "
             f"or anyone who can reach it could start runs; pass --token-file PATH or set {TOKEN_ENV} "
             "(see docs/web-api.md#security), or keep the default --host 127.0.0.1")
    server = Server(list(targets), load_plugins(), grace=grace, ttl=timedelta(seconds=lease_ttl))
    http = HttpServer(server, host, port, token)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: server.stop())

    def ready() -> None:
        try:
            http.start()
        except OSError as exc:
            server.stop()
            server.say(f"error: {exc}")
            return
        server.say(f"serving on http://{http.host}:{http.port}")

    try:
        server.serve(ready)
    except ValueError as exc:
        fail(f"error: {exc}")
    finally:
        http.stop()
