"""Reading a model's answer into alt text, a long description and the text it saw in the image.

The prompts ask for labelled lines ("ALT: …", "LONG DESCRIPTION: …", "TEXT IN IMAGE: …") rather than JSON:
vision models follow labels reliably, a label survives Markdown decoration ("**ALT:**", "- ALT:"), an answer
cut short by max_tokens still has its first label (ALT comes first), and an answer that ignores the format is
still readable text. When no ALT label is found, the whole answer (trimmed, one paragraph, no Markdown, no
surrounding quotes) becomes the alt text. A JSON answer is read too, since some models answer in JSON anyway.
Nothing is ever cut.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from vision.alttext.purposes import CHART


@dataclass(frozen=True)
class AltResult:
    alt: str
    long_description: str = ""
    visible_text: str = ""


ALT, LONG, VISIBLE = "alt", "long_description", "visible_text"

# Label spellings, in English as asked and in the forms models sometimes use instead.
LABELS = {
    ALT: (
        "alt",
        "alt text",
        "alt-text",
        "alttext",
        "alternative text",
        "short alt text",
        "alternativer text",
        "alternativtext",
        "texte alternatif",
        "texto alternativo",
        "testo alternativo",
        "alternatieve tekst",
    ),
    LONG: (
        "long description",
        "long desc",
        "longdesc",
        "detailed description",
        "lange beschreibung",
        "description longue",
        "descripción larga",
        "descrizione lunga",
        "lange beschrijving",
        "descrição longa",
    ),
    VISIBLE: (
        "text in image",
        "text in the image",
        "visible text",
        "text in picture",
        "text im bild",
        "texte dans l'image",
        "texte dans l’image",
        "texto en la imagen",
        "testo nell'immagine",
        "tekst in de afbeelding",
        "texto na imagem",
    ),
}
_LABEL_FIELD = {label: field for field, labels in LABELS.items() for label in labels}
_EMPHASIS = r"(?:\*\*|__|\*|_)?"
_LABEL_LINE = re.compile(
    r"^[ \t]*(?:[-*+>#•][ \t]*)*"  # list bullets, quotes, headings
    + _EMPHASIS
    + r"[ \t]*("
    + "|".join(
        r"[ \t]+".join(re.escape(word) for word in label.split(" "))
        for label in sorted(_LABEL_FIELD, key=len, reverse=True)
    )
    + r")[ \t]*"
    + _EMPHASIS
    + r"[ \t]*[:：][ \t]*"
    + _EMPHASIS
    + r"[ \t]*(.*)$",
    re.IGNORECASE,
)

NO_TEXT_ANSWERS = {
    "none",
    "(none)",
    "no text",
    "n/a",
    "na",
    "-",
    "—",
    "–",
    "nothing",
    "keine",
    "kein text",
    "aucun",
    "aucune",
    "aucun texte",
    "ninguno",
    "ningún texto",
    "nessuno",
    "nessun testo",
    "geen",
    "geen tekst",
    "nenhum",
    "nenhum texto",
    "brak",
    "ingen",
    "ingen tekst",
    "ei",
    "ei tekstiä",
    "žádný",
    "nincs",
    "niciunul",
    "κανένα",
    "yok",
    "нет",
    "немає",
    "なし",
    "无",
    "無",
    "없음",
}
_NO_TEXT_SENTENCE = re.compile(
    r"^(?:there is |there's |there are )?no (?:visible |readable )?text(?: is)?(?: visible)?"
    r"(?: in (?:the|this) image)?$",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|below is)\b[^\n]*[:：][ \t]*\n", re.IGNORECASE
)
_QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("“", "”"), ("„", "“"), ("„", "”"), ("«", "»"), ("»", "«"), ("‘", "’"))
_QUOTE_PAIRS += (("‚", "‘"), ("「", "」"), ("『", "』"), ("`", "`"))


def parse_answer(purpose: str, answer: str) -> AltResult:
    """The alt text, long description and visible text in a model's answer, however well it kept the format.

    `purpose` is the image's purpose (purposes.py); only a chart's answer keeps a long description.
    """
    text = _strip_wrapping(answer or "")
    sections = _json_sections(text) or _labelled_sections(text)
    preamble = sections.pop("", "")
    long_description = clean_long_description(sections.get(LONG, "")) if purpose == CHART else ""
    visible_text = clean_visible_text(sections.get(VISIBLE, ""))
    if ALT in sections:
        alt = clean_alt(sections[ALT])
    elif sections:  # some labels but no ALT: whatever came before them, else the long description
        alt = clean_alt(preamble) or clean_alt(sections.get(LONG, ""))
    else:  # the format was ignored: the whole answer is the alt text, less a "Here is the alt text:" line
        alt = clean_alt(_PREAMBLE.sub("", text, count=1)) or clean_alt(text)
    return AltResult(alt=alt, long_description=long_description, visible_text=visible_text)


def _strip_wrapping(text: str) -> str:
    text = re.sub(r"(?is)<think>.*?</think>", "", text)
    text = re.sub(r"(?m)^[ \t]*```[\w-]*[ \t]*$", "", text)  # code fences, with or without a language
    return text.strip()


def _json_sections(text: str) -> dict[str, str]:
    if not (text.startswith("{") and text.endswith("}")):
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    sections = {}
    for key, value in data.items():
        field = _LABEL_FIELD.get(re.sub(r"[\s_-]+", " ", str(key)).strip().casefold())
        field = field or {"alt": ALT, "long description": LONG, "visible text": VISIBLE}.get(str(key).casefold())
        if field and isinstance(value, str | int | float):
            sections[field] = str(value)
        elif field and isinstance(value, list):
            sections[field] = "\n".join(str(item) for item in value)
    return sections if ALT in sections else {}


def _labelled_sections(text: str) -> dict[str, str]:
    """{"": text before the first label, field: its text} — a field's text runs until the next label."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.split("\n"):
        match = _LABEL_LINE.match(line)
        if match:
            current = _LABEL_FIELD[re.sub(r"\s+", " ", match.group(1)).casefold()]
            sections.setdefault(current, [])
            if sections[current]:  # a label given twice: keep both parts
                sections[current].append("")
            line = match.group(2)
        sections[current].append(line)
    return {field: "\n".join(lines).strip() for field, lines in sections.items()}


def _unquote(text: str) -> str:
    changed = True
    while changed and len(text) >= 2:
        changed = False
        for opening, closing in _QUOTE_PAIRS:
            inner = text[len(opening) : -len(closing)]
            if text.startswith(opening) and text.endswith(closing) and opening not in inner and closing not in inner:
                text, changed = inner.strip(), True
                break
    return text


def _strip_markdown(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images and links keep their words
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text, flags=re.DOTALL)
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    return re.sub(r"(?m)^[ \t]*#{1,6}[ \t]+", "", text)


def clean_alt(text: str) -> str:
    """Alt text as one plain paragraph: no Markdown, list bullets, line breaks or surrounding quotes."""
    text = _strip_markdown(text.strip())
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    bullet = r"^(?:[-*+•>][ \t]+)" if len(lines) < 2 else r"^(?:[-*+•>]|\d{1,2}[.)])[ \t]+"
    lines = [re.sub(bullet, "", line) for line in lines]
    return _unquote(re.sub(r"\s+", " ", " ".join(lines)).strip())


def clean_long_description(text: str) -> str:
    """A long description keeps its lines and list items; Markdown emphasis and headings go."""
    text = _strip_markdown(text.strip())
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_visible_text(text: str) -> str:
    """The text the model read in the image, verbatim; "" when it says there is none."""
    text = _unquote(text.strip())
    if text.rstrip(".").strip().casefold() in NO_TEXT_ANSWERS or _NO_TEXT_SENTENCE.match(text.rstrip(".")):
        return ""
    return text


def html_alt_attribute(text: str) -> str:
    """The alt text as an HTML attribute to copy into a page: 'alt="…"', with &, <, >, " and ' escaped."""
    return f'alt="{html.escape(text, quote=True)}"'
