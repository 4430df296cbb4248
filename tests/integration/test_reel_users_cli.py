"""``reel users create``: appends the account's ``UserRegistered`` with its role and prints a token the
API accepts (signed with the data dir's secret)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from events import open_log
from events.ids import now_us
from reelstack.cli import main
from reelstack.settings import load_settings
from serve.api.auth import verify_token
from serve.api.context import resolve_secrets


def test_users_create_appends_the_role_and_prints_a_valid_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["users", "create", "--name", "Mo", "--role", "moderator",
                                       "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    fields = dict(line.split(":", 1) for line in result.output.strip().splitlines())
    user_id, token = fields["user_id"].strip(), fields["token"].strip()
    settings = resolve_secrets(load_settings({}, data_dir=str(tmp_path)))
    principal = verify_token(token, settings.auth_secret.encode(), now_us())
    assert (principal.user_id, principal.role) == (user_id, "moderator")

    async def registered() -> list[object]:
        log = await open_log(settings.log_url, partitions=None, readonly=True)
        try:
            return [r.event for p in range(log.partitions) for r in await log.read(p, 0)]
        finally:
            await log.close()

    [event] = asyncio.run(registered())
    assert type(event).__name__ == "UserRegistered"
    assert (event.user_id, event.name, event.role) == (user_id, "Mo", "moderator")  # type: ignore[attr-defined]
