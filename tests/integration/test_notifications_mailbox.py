"""The sender's SMTP connection (Mailbox) against a real aiosmtpd server: a pass's emails share
one connection, the next pass opens its own, and a connection the server closed meanwhile is
replaced without losing the email."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notifications.service.delivery import Mailbox
from tests.integration.test_notifications_helpers import free_port, notification_settings

pytestmark = pytest.mark.integration


class Sessions:
    """Each message's SMTP session (one per connection); hangs up after a message when asked."""

    def __init__(self) -> None:
        self.sessions: list[Any] = []
        self.hang_up_after_next = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions.append(session)
        if self.hang_up_after_next:
            self.hang_up_after_next = False
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply is written
        return "250 Message accepted for delivery"

    def connections(self) -> int:
        return len({id(s) for s in self.sessions})


@pytest.fixture
def server() -> Iterator[tuple[Sessions, int]]:
    handler = Sessions()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, int(controller.port)
    controller.stop()


def message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = f"<ntf_{n}@notifications.revcycle>"
    msg["From"] = "statements@revcycle.example"
    msg["To"] = "guarantor@example.org"
    msg["Subject"] = "statement"
    msg.set_content("due")
    return msg


async def test_a_pass_sends_its_emails_on_one_connection(server: tuple[Sessions, int]) -> None:
    handler, port = server
    mailbox = Mailbox(notification_settings(port))
    for n in range(3):
        await mailbox.send(message(n))
    await mailbox.hang_up()
    assert (len(handler.sessions), handler.connections()) == (3, 1)
    await mailbox.send(message(3))  # the next pass
    await mailbox.hang_up()
    assert (len(handler.sessions), handler.connections()) == (4, 2)


async def test_a_connection_closed_by_the_server_is_replaced(server: tuple[Sessions, int]) -> None:
    handler, port = server
    mailbox = Mailbox(notification_settings(port))
    handler.hang_up_after_next = True
    await mailbox.send(message(0))
    await asyncio.sleep(0.2)  # the server has closed it
    await mailbox.send(message(1))
    await mailbox.hang_up()
    assert (len(handler.sessions), handler.connections()) == (2, 2)
