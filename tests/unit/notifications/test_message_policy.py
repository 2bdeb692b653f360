"""The sender's email policy: the standard header classes made once each, the message the same
to the byte as with email's default policy."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from email.policy import EmailPolicy

from aiosmtplib.email import flatten_message

from services.notifications.service.delivery import HEADER_CLASSES, MESSAGE_POLICY


def statement(policy: EmailPolicy[EmailMessage]) -> bytes:
    msg = EmailMessage(policy=policy)
    msg["Message-ID"] = "<ntf_1@notifications.revcycle>"
    msg["From"] = "statements@revcycle.example"
    msg["To"] = "Ana Rivera <ana@example.org>"
    msg["Subject"] = "Your statement from Revcycle Billing Office: $1,234.56 due by 2026-04-01 (Ana Rivera)"
    msg["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    msg["X-Revcycle-Template"] = "patient-statement"
    msg.set_content("Amount due: $1,234.56\nJosé Núñez\n" * 20)
    msg.add_alternative("<p>Amount due: $1,234.56 &amp; Jos&eacute;</p>" * 20, subtype="html")
    # The multipart boundary is random per message.
    return re.sub(rb"===============\d+==", b"BOUNDARY", flatten_message(msg))


def test_the_message_is_the_same_as_with_the_default_policy() -> None:
    assert statement(MESSAGE_POLICY) == statement(email.policy.default)


def test_each_header_class_is_made_once() -> None:
    assert MESSAGE_POLICY.header_factory is HEADER_CLASSES
    assert HEADER_CLASSES["Subject"] is HEADER_CLASSES["subject"]
    assert HEADER_CLASSES["X-Revcycle-Template"] is HEADER_CLASSES["x-revcycle-template"]
