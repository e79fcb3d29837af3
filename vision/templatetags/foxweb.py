"""Template filters: model output rendered as sanitised HTML, durations in words."""

from datetime import timedelta

import nh3
from django import template
from django.conf import settings
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# Model output is never trusted as HTML: raw HTML in it is escaped by the parser, and what the
# Markdown makes is cleaned again against a short allow-list.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


@register.filter
def render_answer(text: str) -> str:
    html = _markdown.render(text or "")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)


@register.filter
def seconds(value: timedelta | None) -> str:
    """A duration as people say it: "4.2 s", "1 min 5 s"."""
    if value is None:
        return ""
    total = value.total_seconds()
    if total < 60:
        return f"{total:.1f} s"
    minutes, rest = divmod(int(total), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@register.filter
def model_label(name: str) -> str:
    """A model's friendly name ("Claude Opus 4.7") where FoxWeb knows it, else its id."""
    return settings.FOXWEB_MODELS.get(name, {}).get("label", name)


# What a prepared image is, in the words of people rather than of file formats (vision.images picks
# JPEG for photographs, PNG for line art, WebP for pictures with transparency).
_SENT_AS = {"image/jpeg": "photo", "image/png": "drawing", "image/webp": "picture with transparency"}


@register.filter
def sent_as(mime_type: str) -> str:
    return _SENT_AS.get(mime_type, "image")


@register.filter
def words_for_tokens(tokens: int) -> int:
    """Roughly how many English words fit in that many tokens (three quarters of a word each)."""
    return int(round(int(tokens) * 3 / 4, -1)) if tokens >= 100 else int(tokens) * 3 // 4
