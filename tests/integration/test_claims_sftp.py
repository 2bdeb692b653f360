"""The SFTP clearinghouse adapter against an asyncssh server this test starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from services.chassis.clearinghouse import Clearinghouse
from services.chassis.sftp import SftpClearinghouse, SftpSettings

pytestmark = pytest.mark.integration


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == ("biller", "s3cret")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    root = tmp_path / "sftp"
    root.mkdir()
    key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[key], server_factory=_Server,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
    )
    port = acceptor.sockets[0].getsockname()[1]
    yield port, root
    acceptor.close()
    await acceptor.wait_closed()


async def test_write_list_read_archive(server: tuple[int, Path]) -> None:
    port, root = server
    ch = SftpClearinghouse(SftpSettings(host="127.0.0.1", port=port, username="biller", password="s3cret",
                                        known_hosts=None, root="/exchange"))
    adapter: Clearinghouse = ch  # the same protocol as the folder implementation
    try:
        await ch.ensure_layout()
        await adapter.write("outbound", "000000001.837", b"ISA*...~")
        assert (root / "exchange" / "outbound" / "000000001.837").read_bytes() == b"ISA*...~"
        assert not list((root / "exchange" / "outbound").glob("*.part"))
        (root / "exchange" / "inbound" / "acks" / "999-1.x12").write_bytes(b"ack")
        (root / "exchange" / "inbound" / "acks" / "half.x12.part").write_bytes(b"partial")
        files = await adapter.list("inbound/acks")
        assert [f.name for f in files] == ["999-1.x12"]
        assert await adapter.read(files[0]) == b"ack"
        await adapter.archive(files[0])
        assert (root / "exchange" / "archive" / "inbound_acks" / "999-1.x12").read_bytes() == b"ack"
        assert [f.name for f in await adapter.list("inbound/acks")] == []
        with pytest.raises(ValueError, match="plain file name"):
            await adapter.write("outbound", "../escape", b"x")
    finally:
        await ch.close()


async def test_wrong_password_is_refused(server: tuple[int, Path]) -> None:
    port, _ = server
    ch = SftpClearinghouse(SftpSettings(host="127.0.0.1", port=port, username="biller", password="nope",
                                        known_hosts=None))
    with pytest.raises(asyncssh.PermissionDenied):
        await ch.list("outbound")
