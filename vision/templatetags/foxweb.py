"""Template filters: model output rendered as sanitised HTML, durations in words."""

from datetime import timedelta

import nh3
from django import template
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from vision import catalog

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
    """A model's friendly name ("Claude Opus 4.7") where the catalogue has it, else its id."""
    return catalog.label(name)


@register.filter
def language_label(code: str) -> str:
    """A language's name in English and in itself ("German (Deutsch)"), else the code."""
    from vision import alttext

    try:
        return alttext.get_language(code).label
    except KeyError:
        return code


@register.filter
def purpose_label(key: str) -> str:
    from vision import alttext

    try:
        return alttext.get_purpose(key).label
    except KeyError:
        return key


@register.filter
def intcomma_plain(value: int) -> str:
    """12345 -> "12,345"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def seconds_left(value: int | None) -> str:
    """A time left, roughly, as people say it: "40 s", "3 min", "1 h 10 min"."""
    if value is None:
        return ""
    if value < 60:
        return f"{max(int(value), 1)} s"
    minutes = round(value / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@register.filter
def html_alt(text: str) -> str:
    """The text as an HTML attribute, alt="…", escaped for pasting into a page's source."""
    from vision import alttext

    return alttext.html_alt_attribute(text or "")


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


@register.filter
def get_item(mapping: dict, key):
    """mapping[key] in a template, "" when missing."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
