"""``reel up``: run the whole platform on this machine (or join a Ray cluster), optionally seeded with a demo.

Starts a local Ray with its dashboard (or connects to ``--address``), then ``start_platform``: the log
writer, every projection runner, the user shards, the Serve applications (ingress on ``:8000`` and
moderation; ranking when the feed provides it), the upload pipeline and the online trainer
(``REEL_TRAINER_ENABLED`` / ``--no-trainer``, ``REEL_TRAINER_PUBLISH_EVERY_S``). Embedded defaults need
nothing else: ``file://`` log, ``sqlite://`` views, ``file://`` blobs under ``--data-dir``; flags or
``REEL_LOG_URL`` / ``REEL_VIEW_STORE_URL`` / ``REEL_BLOB_URL`` switch to ``kafka://``, ``redis://``,
``s3://``. ``--demo`` seeds clips and viewers through the API (``reelstack.demo``) first.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import click

from serve.modes import SERVE_MODES

__all__ = ["trainer_summary", "up", "users"]


def _settings(**overrides: Any) -> Any:
    from .settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("up")
@click.option("--demo", is_flag=True, help="Seed a demo catalogue and audience first (through the API).")
@click.option("--data-dir", default=None, help="Where embedded data lives (default REEL_DATA_DIR or .reel).")
@click.option("--log-url", default=None, help="file:///dir (default) or kafka://host:port.")
@click.option("--views-url", default=None, help="sqlite:///path (default) or redis://host:port/0.")
@click.option("--blob-url", default=None, help="file:///dir (default) or s3://bucket.")
@click.option("--host", default=None, help="HTTP host (default REEL_HTTP_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="HTTP port (default REEL_HTTP_PORT or 8000).")
@click.option("--address", default=None, help="Join a Ray cluster (e.g. auto) instead of starting one.")
@click.option("--num-cpus", default=None, type=int, help="CPUs of the local Ray (default: all).")
@click.option("--dashboard-port", default=8265, show_default=True, type=int)
@click.option("--moderation", type=click.Choice(["serve", "approve-all"]), default="serve", show_default=True,
              help="serve: the moderation ensemble deployment; approve-all: no models (offline tests).")
@click.option("--clips", default=60, show_default=True, type=int, help="Demo clips to generate and upload.")
@click.option("--viewers", default=300, show_default=True, type=int, help="Demo viewers to replay.")
@click.option("--exit-after-seed", is_flag=True, help="Stop once the demo is seeded (CI, benchmarks).")
@click.option("--no-trainer", is_flag=True, help="Start no online trainer (as REEL_TRAINER_ENABLED=false).")
@click.option("--serve-mode", type=click.Choice(list(SERVE_MODES)), default=None,
              help="How HTTP reaches the API's replicas (default REEL_SERVE_MODE or proxy): Serve's proxy "
                   "actor, or Ray's throughput-optimised Serve behind HAProxy (needs REEL_RATE_IP_PER_S=0).")
def up(demo: bool, data_dir: str | None, log_url: str | None, views_url: str | None, blob_url: str | None,
       host: str | None, port: int | None, address: str | None, num_cpus: int | None, dashboard_port: int,
       moderation: str, clips: int, viewers: int, exit_after_seed: bool, no_trainer: bool,
       serve_mode: str | None) -> None:
    """Run Reelstack: Ray, shards, projections, pipeline, online trainer and the Serve API on :8000."""
    settings = _settings(data_dir=data_dir, log_url=log_url, view_store_url=views_url, blob_url=blob_url,
                         http_host=host, http_port=port, trainer_enabled=False if no_trainer else None,
                         serve_mode=serve_mode)
    if not address:  # the ports are this machine's: say so now, not in a traceback after Ray started
        _check_ports(settings.http_host, settings.http_port, dashboard_port)
    from serve.modes import use_serve_mode

    use_serve_mode(settings.serve_mode)  # before Ray starts (and before ray.serve is imported)
    import ray

    from serve.api.context import NAMESPACE

    from .platform import start_platform

    t0 = time.perf_counter()
    if address:
        ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING)
        dashboard = "(the cluster's dashboard)"
        if settings.serve_mode != "proxy":
            click.echo(f"serve mode {settings.serve_mode}: the cluster's nodes must have been started in it "
                       "(cluster.yaml shows how)")
    else:
        ctx = ray.init(num_cpus=num_cpus, include_dashboard=True, dashboard_host="127.0.0.1",
                       dashboard_port=dashboard_port, namespace=NAMESPACE, logging_level=logging.WARNING,
                       log_to_driver=False)
        dashboard = f"http://{ctx.dashboard_url}" if ctx.dashboard_url else "(dashboard unavailable)"
    click.echo(f"ray up in {time.perf_counter() - t0:.1f} s; starting the platform...")
    try:
        platform = start_platform(settings, namespace=NAMESPACE, moderation=moderation)
    except Exception as exc:
        ours = _configuration_error(exc)
        if ours is None:
            raise
        raise click.ClickException(f"the platform did not start: {ours}") from None
    steps = ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in platform.timings.items())
    click.echo(f"platform up in {time.perf_counter() - t0:.1f} s ({steps})")
    try:
        moderator = _moderator(platform)
        if demo and _published(platform.settings) >= clips:
            click.echo(f"the catalogue already has {clips}+ published videos: not seeding again")
        elif demo:
            from .demo import seed_demo

            click.echo(f"seeding the demo: {clips} clips, {viewers} viewers...")
            report = seed_demo(platform.base_url, clips=clips, viewers=viewers, moderator_token=moderator,
                               progress=click.echo)
            click.echo(f"demo seeded: {report.published}/{report.uploaded} clips published, "
                       f"{report.viewers} viewers, {report.views} views, {report.likes} likes")
            for vid, why in list(report.not_published.items())[:10]:
                click.echo(f"  not published: {vid}: {why}")
        base = platform.base_url
        click.echo(f"\n  API docs:    {base}/docs\n  web client:  {base}/\n  dashboard:   {dashboard}\n"
                   f"  serve mode:  {settings.serve_mode}\n"
                   f"  trainer:     {trainer_summary(platform)}\n"
                   f"  data:        {settings.data_dir} (log {platform.settings.log_url})\n"
                   f"  moderator:   Authorization: Bearer {moderator}\n")
        if exit_after_seed:
            return
        click.echo("press Ctrl-C to stop")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        click.echo("stopping...")
        platform.stop()
        if not address:
            ray.shutdown()


def _configuration_error(exc: BaseException) -> BaseException | None:
    """The project's own error behind ``exc`` (raised here, or in an actor and re-raised by Ray), whose
    message says what to fix (a broker or store that cannot be reached, a bad URL), or None."""
    from actors.errors import ActorsError
    from blobs.errors import BlobError
    from events.errors import EventsError
    from projections.errors import ProjectionsError

    from .services import ServiceError
    from .settings import SettingsError

    ours = (ActorsError, BlobError, EventsError, ProjectionsError, ServiceError, SettingsError)
    cause = getattr(exc, "cause", None)  # ray.exceptions.RayTaskError: the actor's own exception (its str
    for candidate in (cause, exc):       # is the bare message, the RayTaskError's the remote traceback)
        if isinstance(candidate, ours):
            return candidate
    return None


def _check_ports(host: str, port: int, dashboard_port: int) -> None:
    from .services import port_taken

    why = port_taken(host, port)
    if why is not None:
        raise click.UsageError(
            f"cannot serve HTTP on {host}:{port} ({why}). If another `reel up` is running there, stop it "
            "(Ctrl-C, or `pkill -INT -f 'reel up'`), or pick another port with --port N (or REEL_HTTP_PORT).")
    why = port_taken("127.0.0.1", dashboard_port)
    if why is not None:
        raise click.UsageError(
            f"cannot start Ray's dashboard on 127.0.0.1:{dashboard_port} ({why}). If another `reel up` or "
            "Ray is running, stop it (`pkill -INT -f 'reel up'`, `ray stop`), or pick another port with "
            "--dashboard-port N.")


def trainer_summary(platform: Any) -> str:
    """One line for the startup summary: is the online trainer running, and how it publishes."""
    if platform.trainer is None:
        return "off (REEL_TRAINER_ENABLED=false)"
    import ray

    try:
        st = ray.get(platform.trainer.status.remote(), timeout=10)
    except Exception as exc:  # the summary must not stop `reel up`
        return f"unreachable ({type(exc).__name__})"
    state = "running" if st["running"] else f"stopped {st['error']}".strip()
    return (f"{state}, consumer group {st['group']!r}, publishes model 'online' every "
            f"{st['publish_every_s']:g} s ({st['interactions']} interactions learned, version {st['version']})")


def _published(settings: Any) -> int:
    from projections import catalog
    from projections.store import open_store, reader

    store = open_store(settings.view_store_url)
    try:
        return len(catalog.videos_by_status(reader(store, catalog.PROJECTION), "published", 10_000))
    finally:
        store.close()


def _moderator(platform: Any) -> str:
    """The demo moderator ("Demo Moderator", registered once per data dir) and a fresh token for it."""
    from pathlib import Path

    import ray

    from serve.api.auth import Principal, sign_token
    from serve.api.routes_auth import new_user_event

    s = platform.settings
    marker = Path(s.data_dir).absolute() / "demo-moderator"
    if marker.is_file():
        user_id = marker.read_text().strip()
    else:
        event = new_user_event(name="Demo Moderator", role="moderator")
        if platform.writer is not None:
            ray.get(platform.writer.append.remote([event]))
        else:
            import asyncio

            from pipeline.logwriter import LazyLogAppender

            async def append() -> None:
                appender = LazyLogAppender(s.log_url, partitions=s.log_partitions)
                try:
                    await appender.append([event])
                finally:
                    await appender.close()

            asyncio.run(append())
        user_id = event.user_id
        marker.write_text(user_id)
    expires = int(time.time() * 1e6) + s.auth_token_ttl_s * 1_000_000
    principal = Principal(user_id=user_id, role="moderator", expires_at=expires)
    return sign_token(principal, s.auth_secret.encode())


@click.group("users")
def users() -> None:
    """Accounts: create moderators and admins."""


@users.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["user", "moderator", "admin"]), default="user", show_default=True)
@click.option("--region", default="ZZ", show_default=True)
@click.option("--data-dir", default=None)
@click.option("--address", default="auto", show_default=True,
              help="Ray cluster of a running `reel up` (its file log's writer lives there).")
def create_user(name: str, role: str, region: str, data_dir: str | None, address: str) -> None:
    """Register a user with ROLE (appends ``UserRegistered``) and print a bearer token for it."""
    import asyncio

    from events.errors import LogLockedError
    from events.log import open_log
    from serve.api.auth import Principal, sign_token
    from serve.api.context import LOG_WRITER, NAMESPACE, resolve_secrets
    from serve.api.routes_auth import new_user_event

    settings = resolve_secrets(_settings(data_dir=data_dir))
    event = new_user_event(name=name, region=region, role=role)  # type: ignore[arg-type]

    async def append_direct() -> None:
        log = await open_log(settings.log_url, partitions=settings.log_partitions)
        try:
            await log.append([event])
        finally:
            await log.close()

    try:
        asyncio.run(append_direct())
    except LogLockedError:  # a running `reel up` owns the file log: append through its writer actor
        import ray

        ray.init(address=address, namespace=NAMESPACE, logging_level=logging.ERROR, log_to_driver=False)
        writer = ray.get_actor(LOG_WRITER, namespace=NAMESPACE)
        ray.get(writer.append.remote([event]))
    expires = event.ts + settings.auth_token_ttl_s * 1_000_000
    token = sign_token(Principal(user_id=event.user_id, role=role, expires_at=expires),  # type: ignore[arg-type]
                       settings.auth_secret.encode())
    click.echo(f"user_id: {event.user_id}\nrole:    {role}\ntoken:   {token}")
