"""The documentation page: complete, and nothing in it reaches outside the machine."""

from __future__ import annotations

import re

from schemas.docs_html import render_html
from schemas.generate import build_asyncapi
from schemas.registry import REGISTRY
from schemas.topics import load_topics


def test_page_lists_every_topic_and_event_with_fields_and_examples() -> None:
    page = render_html(build_asyncapi())
    for topic in load_topics():
        assert f"<code>{topic.name}</code>" in page
    for event_type, spec in REGISTRY.items():
        assert event_type in page
        assert f"Example: {spec.name}-1" in page
    # Nested payload fields are flattened into the tables.
    assert "<code>coverages[].relationship_to_subscriber</code>" in page
    assert "<code>lines[].adjustments[].reason_code</code>" in page
    assert "<code>ce_subject</code>" in page and "<code>traceparent</code>" in page
    assert "<code>dlq_original_topic</code>" in page


def test_page_is_self_contained() -> None:
    page = render_html(build_asyncapi())
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for anchor in re.findall(r'href="#([^"]+)"', page):
        assert anchor in ids


def test_page_escapes_text() -> None:
    doc = build_asyncapi()
    doc["info"]["title"] = "<script>alert(1)</script>"
    page = render_html(doc)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
