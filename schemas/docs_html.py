"""Render the AsyncAPI document as one self-contained HTML page.

No script, stylesheet, font or image is fetched from anywhere: the CSS and the small
filter script are inline, so the page works on a machine without internet access.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["render_html"]

_CSS = """
:root { --fg:#1d2433; --muted:#5b6478; --line:#d9dee8; --accent:#1f5fbf; --bg:#f7f8fb; --code:#eef1f6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); }
header { padding:16px 24px; border-bottom:1px solid var(--line); background:#fff; }
header h1 { margin:0; font-size:20px; }
.layout { display:flex; align-items:flex-start; }
nav { position:sticky; top:0; width:300px; max-height:100vh; overflow:auto; padding:12px 16px;
      border-right:1px solid var(--line); background:var(--bg); flex:none; }
nav input { width:100%; padding:6px 8px; margin-bottom:8px; border:1px solid var(--line); border-radius:4px; }
nav ul { list-style:none; margin:0 0 8px; padding:0; }
nav li { margin:0; }
nav a { color:var(--fg); text-decoration:none; display:block; padding:1px 0; }
nav a:hover { color:var(--accent); }
nav .topic { font-weight:600; margin-top:8px; }
nav .msg { padding-left:12px; font-size:13px; }
main { padding:16px 28px; min-width:0; flex:1; }
section.channel { border-top:2px solid var(--fg); margin-top:28px; padding-top:8px; }
article.message { border:1px solid var(--line); border-radius:6px; padding:12px 16px; margin:16px 0; }
h2 { font-size:18px; margin:4px 0; } h3 { font-size:16px; margin:0 0 4px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
code { background:var(--code); padding:0 3px; border-radius:3px; }
pre { background:var(--code); padding:10px; overflow:auto; border-radius:4px; }
table { border-collapse:collapse; width:100%; margin:8px 0; }
th, td { border-bottom:1px solid var(--line); text-align:left; vertical-align:top; padding:4px 6px; }
th { background:var(--bg); font-weight:600; }
td.path { white-space:nowrap; }
.muted { color:var(--muted); }
.badge { display:inline-block; border:1px solid var(--line); border-radius:10px; padding:0 8px; font-size:12px;
         margin-right:4px; background:#fff; }
.req { color:#a4262c; font-weight:600; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap:2px 12px; margin:8px 0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; }
"""

_JS = """
document.getElementById('filter').addEventListener('input', function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll('nav li').forEach(function (li) {
    li.style.display = li.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
});
"""

_MAX_DEPTH = 8


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _markdown(text: str) -> str:
    """The little markdown the descriptions use: paragraphs, bullets, **bold**, `code`."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        if lines[0].lstrip().startswith("* "):
            items: list[str] = []
            for line in lines:
                if line.lstrip().startswith("* "):
                    items.append(line.lstrip()[2:])
                elif items:
                    items[-1] += " " + line.strip()
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def _inline(text: str) -> str:
    escaped = _e(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


class _Resolver:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < 20:
            target: Any = self.document
            for part in str(node["$ref"])[2:].split("/"):
                target = target[part]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings}
            seen += 1
        return node

    def branches(self, node: Any) -> tuple[list[Mapping[str, Any]], bool]:
        """Non-null alternatives of a node, and whether null is allowed."""
        node = self.resolve(node)
        if not isinstance(node, Mapping):
            return [], False
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                alternatives = [self.resolve(b) for b in node[key]]
                nullable = any(isinstance(b, Mapping) and b.get("type") == "null" for b in alternatives)
                return [b for b in alternatives if isinstance(b, Mapping) and b.get("type") != "null"], nullable
        return [node], False

    def describe_type(self, node: Mapping[str, Any]) -> str:
        parts: list[str] = []
        if "const" in node:
            return f"const <code>{_e(json.dumps(node['const']))}</code>"
        if "enum" in node:
            return "one of " + ", ".join(f"<code>{_e(json.dumps(v))}</code>" for v in node["enum"])
        kind = node.get("type", "any")
        if kind == "object" and "title" in node:
            parts.append(f"object <span class=muted>{_e(node['title'])}</span>")
        elif kind == "array":
            items, _ = self.branches(node.get("items", {}))
            inner = " | ".join(self.describe_type(i) for i in items) or "any"
            parts.append(f"array of {inner}")
        else:
            parts.append(_e(kind))
        if "format" in node:
            parts.append(f"<span class=muted>({_e(node['format'])})</span>")
        if "pattern" in node:
            parts.append(f"<br><span class=muted>pattern</span> <code>{_e(node['pattern'])}</code>")
        for key, label in (("minLength", "min length"), ("maxLength", "max length"), ("minItems", "min items"),
                           ("maxItems", "max items"), ("minimum", "min"), ("maximum", "max")):  # fmt: skip
            if key in node:
                parts.append(f"<span class=muted>{label} {_e(node[key])}</span>")
        return " ".join(parts)


def _field_rows(resolver: _Resolver, schema: Mapping[str, Any], prefix: str, depth: int) -> list[str]:
    node = resolver.resolve(schema)
    rows: list[str] = []
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        branches, nullable = resolver.branches(prop)
        resolved_prop = resolver.resolve(prop)
        description = resolved_prop.get("description") or next(
            (b.get("description") for b in branches if b.get("description")), ""
        )
        type_text = " | ".join(resolver.describe_type(b) for b in branches) or "any"
        if nullable:
            type_text += " | null"
        flag = "<span class=req>required</span>" if name in required else "optional"
        rows.append(
            f"<tr><td class=path><code>{_e(path)}</code></td><td>{type_text}</td><td>{flag}</td>"
            f"<td>{_e(description)}</td></tr>"
        )
        if depth >= _MAX_DEPTH:
            continue
        for branch in branches:
            if branch.get("type") == "object" and "properties" in branch:
                rows.extend(_field_rows(resolver, branch, f"{path}.", depth + 1))
            elif branch.get("type") == "array":
                for item in resolver.branches(branch.get("items", {}))[0]:
                    if item.get("type") == "object" and "properties" in item:
                        rows.extend(_field_rows(resolver, item, f"{path}[].", depth + 1))
    return rows


def _table(rows: list[str]) -> str:
    if not rows:
        return "<p class=muted>No fields.</p>"
    head = "<tr><th>Field</th><th>Type</th><th></th><th>Description</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _message_html(resolver: _Resolver, anchor: str, msg_id: str, message: Mapping[str, Any]) -> str:
    kafka = message.get("bindings", {}).get("kafka", {})
    key_text = kafka.get("key", {}).get("description", "")
    parts = [
        f'<article class=message id="{anchor}">',
        f"<h3>{_e(message.get('title', msg_id))}</h3>",
        f"<div><code>{_e(message.get('x-rcm-event-type', msg_id))}</code> "
        + "".join(f"<span class=badge>{_e(t['name'])}</span>" for t in message.get("tags", []))
        + "</div>",
        _markdown(str(message.get("description", ""))),
        "<dl class=facts>",
        f"<dt>Record key</dt><dd>{_inline(key_text)}</dd>",
        f"<dt>Content type</dt><dd><code>{_e(message.get('contentType', ''))}</code></dd>",
        "</dl>",
        "<h4>Headers</h4>",
        _table(_field_rows(resolver, message.get("headers", {}), "", 0)),
        "<h4>Payload</h4>",
    ]
    payload = resolver.resolve(message.get("payload", {}))
    if "properties" in payload:
        parts.append(_table(_field_rows(resolver, payload, "", 0)))
    else:
        parts.append(f"<p>{_e(payload.get('description', 'Any bytes.'))}</p>")
    for example in message.get("examples", []):
        parts.append(
            f"<details><summary>Example: {_e(example.get('name', ''))}</summary>"
            f"<p class=muted>Headers</p><pre>{_e(json.dumps(example.get('headers', {}), indent=2))}</pre>"
            f"<p class=muted>Payload</p><pre>{_e(json.dumps(example.get('payload', {}), indent=2))}</pre>"
            "</details>"
        )
    parts.append("</article>")
    return "\n".join(parts)


def _order(item: tuple[str, Any]) -> tuple[int, str]:
    value = item[1]
    order = value.get("x-rcm-order", 10**6) if isinstance(value, Mapping) else 10**6
    return int(order), item[0]


def render_html(document: Mapping[str, Any]) -> str:
    """The documentation page for an AsyncAPI 3.0 document (as produced by schemas.generate)."""
    resolver = _Resolver(document)
    info = document.get("info", {})
    channels = sorted(document.get("channels", {}).items(), key=_order)
    nav: list[str] = []
    body: list[str] = []
    for channel_id, channel in channels:
        anchor = f"ch-{_anchor(channel_id)}"
        refs = [str(ref["$ref"]).rsplit("/", 1)[1] for ref in channel.get("messages", {}).values()]
        resolved = [
            (ref, resolver.resolve(m)) for ref, m in zip(refs, channel.get("messages", {}).values(), strict=True)
        ]
        msg_ids = [str(m.get("x-rcm-event-type", ref)) for ref, m in resolved]
        nav.append(f'<li class=topic><a href="#{anchor}">{_e(channel.get("address", channel_id))}</a></li>')
        # A message shared by several channels (the DLQ record) gets one anchor per channel.
        msg_anchors = [f"msg-{_anchor(channel_id)}-{_anchor(mid)}" for mid in msg_ids]
        nav.extend(
            f'<li class=msg><a href="#{a}">{_e(m.get("name", mid))}</a></li>'
            for a, mid, (_, m) in zip(msg_anchors, msg_ids, resolved, strict=True)
        )
        kafka = channel.get("bindings", {}).get("kafka", {})
        config = kafka.get("topicConfiguration", {})
        retention_days = int(config.get("retention.ms", 0)) // 86_400_000
        consumers = channel.get("x-rcm-consumers", [])
        body.append(f'<section class=channel id="{anchor}">')
        body.append(f"<h2><code>{_e(channel.get('address', channel_id))}</code></h2>")
        body.append(_markdown(str(channel.get("description", ""))))
        body.append(
            "<dl class=facts>"
            f"<dt>Kind</dt><dd>{_e(channel.get('x-rcm-kind', ''))}</dd>"
            f"<dt>Producer</dt><dd>{_e(channel.get('x-rcm-owner', ''))}</dd>"
            f"<dt>Consumers</dt><dd>{_e(', '.join(consumers) or 'none inside the platform')}</dd>"
            f"<dt>Key</dt><dd>{_e(channel.get('x-rcm-key', ''))}</dd>"
            f"<dt>Partitions</dt><dd>{_e(kafka.get('partitions', ''))}</dd>"
            f"<dt>Retention</dt><dd>{retention_days} days</dd>"
            "</dl>"
        )
        for a, mid, (_, message) in zip(msg_anchors, msg_ids, resolved, strict=True):
            body.append(_message_html(resolver, a, mid, message))
        body.append("</section>")
    title = _e(info.get("title", "AsyncAPI"))
    return (
        "<!doctype html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{title} <span class=muted>v{_e(info.get('version', ''))}</span></h1>"
        f"<div class=muted>AsyncAPI {_e(document.get('asyncapi', ''))} &middot; "
        '<a href="asyncapi.yaml">asyncapi.yaml</a></div></header>\n'
        '<div class=layout>\n<nav><input id=filter type=search placeholder="Filter topics and events">'
        f"<ul>{''.join(nav)}</ul></nav>\n"
        f"<main>{_markdown(str(info.get('description', '')))}\n{''.join(body)}</main>\n</div>\n"
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )
