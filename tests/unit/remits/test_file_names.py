"""The name an uploaded 835 is kept under: base name, printable, at most 255 characters."""

from __future__ import annotations

import pytest

from services.remits.domain.file_names import MAX_LENGTH, FileNameRefused, upload_file_name


@pytest.mark.parametrize(("sent", "kept"), [
    ("remit.835", "remit.835"),
    ("../../etc/passwd", "passwd"),
    ("C:\\inbound\\..\\remit.835", "remit.835"),
    ("folder/ spaced name.835 ", "spaced name.835"),
    ("é" * (MAX_LENGTH - 4) + ".835", "é" * (MAX_LENGTH - 4) + ".835"),
])
def test_kept_as_its_base_name(sent: str, kept: str) -> None:
    assert upload_file_name(sent) == kept


@pytest.mark.parametrize(("sent", "rule"), [
    ("a.835\r\nSet-Cookie: x", "control_character"),
    ("a\x1b[31m.835", "control_character"),
    ("a\u2028.835", "control_character"),
    ("a\u202e.835", "control_character"),
    ("x" * (MAX_LENGTH + 1), "too_long"),
    ("dir/" + "x" * 5000, "too_long"),
    ("", "empty"),
    ("dir/", "empty"),
    ("..", "empty"),
    ("   ", "empty"),
])
def test_refused_with_the_rule_never_the_value(sent: str, rule: str) -> None:
    with pytest.raises(FileNameRefused) as refused:
        upload_file_name(sent)
    assert refused.value.type == rule
    assert (sent.strip() or "\x00") not in str(refused.value)
