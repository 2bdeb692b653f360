"""The name an uploaded 835 is kept and shown under: a base name, printable, bounded.

The name comes from outside (`?file_name=` of `POST /v1/remittances`) and is shown back in
`rcm remits quarantine`, logs and reports, so it must not carry a path, a line break or a
terminal control. A path is reduced to its last part (the sender's folders mean nothing here);
anything else that cannot be shown safely is refused rather than repaired, so the name we keep is
always the name the sender gave: it tells them which of their files it was.
"""

from __future__ import annotations

MAX_LENGTH = 255
"""Characters: what common file systems allow for one name."""


class FileNameRefused(ValueError):
    """Why a name was refused: a rule and a message that never repeat the name (it may hold PHI)."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


def upload_file_name(sent: str) -> str:
    """The base name of `sent`, or FileNameRefused (`control_character`, `too_long`, `empty`)."""
    # Checked on the whole value first: a CR/LF or NUL anywhere is an injection attempt, not a folder.
    # isprintable() is False for C0/C1 controls, tabs, line and paragraph separators and format
    # characters such as U+202E (right-to-left override, which shows a different name than stored).
    if not sent.isprintable():
        raise FileNameRefused("control_character",
                              "file_name must hold printable characters only (no control or format characters)")
    base = sent.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", ".."):
        raise FileNameRefused("empty", "file_name must name a file (it is empty or only a folder)")
    if len(base) > MAX_LENGTH:
        raise FileNameRefused("too_long", f"file_name must be at most {MAX_LENGTH} characters")
    return base
