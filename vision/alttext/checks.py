"""Checks on alt text: warnings a person can read, understand and overrule. None of them ever blocks.

Each finding has a code (for code and tests), a short message and a "why": what was noticed, why it matters
to someone using a screen reader, and what to do. An empty alt text (a decorative image) gets no findings.

The language check uses py3langid 0.4.0 (BSD-3-Clause), the maintained fork of langid.py. Its model ships
inside the 4.6 MB wheel and is read from the package on first use, nothing is downloaded; it needs numpy
(a 17 MB wheel).
Restricted to the languages FoxWeb offers it loads in about a second, takes about 100 MB of memory and judges
a text in well under a millisecond. The alternatives measured on the same alt-text-like samples (23 languages,
plus English alt texts full of foreign names): lingua-language-detector was about as accurate but its wheel is
96 MB and it held 600 MB of memory in its accurate mode (its small mode missed more than py3langid);
langdetect (Apache-2.0) has had no release since 2021, ships no wheel, is random unless seeded and missed
more (it confuses Swedish, Danish and Norwegian). Short texts are unreliable with any detector, so the check
only speaks with at least four words, when the detector gives the chosen language less than 1% and one other
language at least 50%; quotes and the text copied from the image are left out before it looks. Measured on
132 alt-text-like sentences in 22 languages, each checked against every other language, it flagged 96%; of
165 texts checked against their own language, 30 of them full of foreign names and brands, it flagged two,
both mostly Polish or German words ("Professor Kowalczyk at Uniwersytet Warszawski").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from vision.alttext.languages import LANGUAGES, get_language
from vision.alttext.purposes import CHART, DECORATIVE, INFORMATIVE, LINK, TEXT


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    why: str


FINE_LENGTH = 125
LONG_LENGTH = 250

# "Image of …" and its kin, at the start of the alt text, per language (English is always checked too).
# Each must be followed by a word boundary, so "Photography of a sunset" is not "Photo of".
REDUNDANT_STARTS = {
    "en": r"(?:(?:this|here) is )?(?:an? |the |this )?(?:image|picture|photo|photograph|graphic|pic)"
    r"\s+(?:of|showing|shows|depicting|depicts)\b",
    "de": r"(?:(?:das|dies) ist )?(?:ein |eine |das |dieses )?(?:bild|foto|fotografie|abbildung|grafik)"
    r"\s+(?:von|vom|zeigt|mit)\b",
    "fr": r"(?:(?:c['’]est|voici) )?(?:une |l['’]|cette )?(?:image|photo|photographie)"
    r"\s+(?:de\b|d['’]|du\b|des\b|montrant\b|représentant\b)",
    "es": r"(?:(?:esta|esto) es )?(?:una |la |esta )?(?:imagen|foto|fotografía)\s+(?:de|del|que muestra|mostrando)\b",
    "it": r"(?:(?:questa|ecco) è )?(?:un['’]|l['’]|una |questa )?(?:immagine|foto|fotografia)"
    r"\s+(?:di|del|della|dello|dei|delle|che mostra|raffigurante)\b",
    "nl": r"(?:een |de |deze )?(?:afbeelding|foto|plaatje)\s+(?:van|met|toont)\b",
    "pt": r"(?:uma |a |esta )?(?:imagem|foto|fotografia)\s+(?:de|do|da|dos|das|mostrando|que mostra)\b",
    "sv": r"(?:en |ett )?(?:bild|foto|fotografi)\s+(?:av|på|som visar)\b",
    "da": r"(?:et |en )?(?:billede|foto|fotografi)\s+(?:af|med|der viser)\b",
    "nb": r"(?:et |en )?(?:bilde|foto|fotografi)\s+(?:av|med|som viser)\b",
    "pl": r"(?:zdjęcie|obraz|obrazek|grafika|fotografia)\s+(?:przedstawiające|przedstawiający|pokazujące|z)\b",
    "fi": r"(?:kuva|valokuva),?\s+(?:jossa|josta|jolla)\b",
    "cs": r"(?:obrázek|fotka|fotografie|snímek)\s+(?:zobrazující|ukazující|s|se)\b",
}
# Languages that put "… picture" at the end instead.
REDUNDANT_ENDS = {
    "ja": r"の(?:画像|写真|イラスト)[。.]?$",
    "zh": r"的(?:图片|照片|图像)[。.]?$",
    "zh-Hant": r"的(?:圖片|照片|圖像)[。.]?$",
}

IMAGE_EXTENSIONS = r"jpe?g|jfif|png|gif|webp|svg|bmp|tiff?|heic|heif|avif|ico|psd|raw|dng|cr2|nef"
PLACEHOLDER_WORDS = {
    "image", "img", "photo", "photograph", "picture", "pic", "graphic", "graphics", "spacer", "placeholder",
    "blank", "empty", "untitled", "alt", "text", "alttext", "todo", "tbd", "test", "dummy", "default", "null",
    "none", "undefined", "thumbnail", "thumb", "banner", "icon", "logo", "insert", "here", "description", "file",
    "bild", "foto", "grafik", "platzhalter", "abbildung", "imagen", "immagine", "afbeelding", "imagem", "zdjęcie",
    "obraz", "billede", "bilde", "kuva", "obrázek", "画像", "写真", "图片", "圖片", "照片", "이미지", "사진",
}  # fmt: skip
_ID_LIKE = re.compile(r"^(?:\d+|(?:img|dsc[nf]?|pxl|mvimg|screenshot|scan|photo|image|pic|p)[_-]?\d[\d_-]*)$")

# Short function words, not counted when looking for a word repeated to stuff keywords.
STOPWORDS = frozenset(
    """the and with for from that this are was its has have into over under near next one two her his their they
    them who which while onto then than der die das den dem des ein eine einer einem einen eines und mit von vor auf
    für aus bei ist sind sich zum zur les des une dans avec pour sur par est qui que aux los las del una con por
    para sobre unos unas che per della delle dei sul sulla gli het een van met voor aan dat zijn uma com dos das
    och som för den det ett til på af med og""".split()  # noqa: SIM905
)

CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
MIN_WORDS_FOR_LANGUAGE = 4
LANGUAGE_UNLIKELY = 0.01  # the check speaks when the detector gives the chosen language less than this…
LANGUAGE_LIKELY = 0.5  # …and one other language at least this


def check(
    alt: str,
    *,
    language: str,
    visible_text: str = "",
    other_alts: Iterable[str] = (),
    purpose: str = INFORMATIVE,
) -> list[Finding]:
    """Warnings about one alt text, in a fixed order; [] for an empty (decorative) one.

    `language` is the code the alt text should be in (languages.py); `visible_text` the text the model read in
    the image; `other_alts` the alt texts of the other images of the same batch; `purpose` the image's purpose.
    """
    text = alt.strip()
    if not text or purpose == DECORATIVE:
        return []
    findings = [
        _length(text),
        _redundant_start(text, language),
        _file_name_or_placeholder(text),
        _keyword_stuffing(text),
        _duplicate(text, other_alts),
        _visible_text_missing(text, visible_text.strip(), purpose),
        _wrong_language(text, language, visible_text.strip(), purpose),
    ]
    return [finding for finding in findings if finding]


def _length(text: str) -> Finding | None:
    length = len(text)
    if length > LONG_LENGTH:
        return Finding(
            "too-long",
            f"Too long for alt text ({length} characters)",
            "Screen readers read alt text in one go, with no easy way to skim it or go back. Keep the alt text to what "
            "matters on this page and put the rest in a long description or in the page text next to the image.",
        )
    if length > FINE_LENGTH:
        return Finding(
            "long",
            f"Long for alt text ({length} characters)",
            "Over about 125 characters, alt text gets tiring to listen to. That can be fine; if details matter, "
            "consider a long description or the page text for them.",
        )
    return None


def _redundant_start(text: str, language: str) -> Finding | None:
    patterns = [REDUNDANT_STARTS["en"]] + ([REDUNDANT_STARTS[language]] if language in REDUNDANT_STARTS else [])
    match = None
    for pattern in patterns:
        match = match or re.match(pattern, text, re.IGNORECASE)
    if not match and language in REDUNDANT_ENDS:
        match = re.search(REDUNDANT_ENDS[language], text)
    if not match:
        return None
    words = match.group(0).strip(" 。.")
    return Finding(
        "redundant-start",
        f"Starts with “{words}”" if match.start() == 0 else f"Ends with “{words}”",
        "Screen readers already say that this is an image, so these words repeat it. Start with what the image "
        "shows; mention the medium only when it matters, such as a painting or a screenshot.",
    )


def _file_name_or_placeholder(text: str) -> Finding | None:
    why = (
        "Screen readers read it out as it is, which tells listeners nothing. Say what the image shows or does, "
        "or mark the image as decoration if it adds nothing."
    )
    if re.fullmatch(r"(?:https?://|www\.)\S+", text, re.IGNORECASE):
        return Finding("file-name", "Looks like a web address", why)
    if re.search(rf"\.(?:{IMAGE_EXTENSIONS})$", text, re.IGNORECASE):
        return Finding("file-name", "Looks like a file name", why)
    words = re.findall(r"\w+", text.casefold())
    if len(words) < 5 and all(word in PLACEHOLDER_WORDS or _ID_LIKE.match(word) for word in words):
        return Finding("placeholder", "Looks like a placeholder", why)
    return None


def _keyword_stuffing(text: str) -> Finding | None:
    why = (
        "Alt text that lists keywords is read out word by word, which is tiring to listen to, and search engines "
        "treat it as spam. Write a natural sentence and use each keyword once, where it fits."
    )
    # Only Latin separators: in Chinese and Japanese, "，" and "、" also join ordinary clauses.
    items = [item for item in re.split(r"[,;|·]", text) if item.strip()]
    if len(items) >= 6 and sorted(_item_words(item) for item in items)[len(items) // 2] <= 3:
        return Finding("keyword-stuffing", "Reads like a list of keywords", why)
    words = [word for word in re.findall(r"[^\W\d_]{3,}", text.casefold()) if word not in STOPWORDS]
    if words:
        word, count = Counter(words).most_common(1)[0]
        if count >= 3 and count * 8 >= len(words):
            return Finding("keyword-stuffing", f"Repeats “{word}” {count} times", why)
    return None


def _item_words(text: str) -> int:
    return len(re.findall(rf"[^\W{CJK}]+", text)) + len(re.findall(f"[{CJK}]", text)) // 2


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def _duplicate(text: str, other_alts: Iterable[str]) -> Finding | None:
    mine = _normalised(text)
    if mine and any(_normalised(other) == mine for other in other_alts):
        return Finding(
            "duplicate",
            "Same alt text as another image in this batch",
            "When different images share an alt text, listeners can't tell them apart. Say what makes this one "
            "different, or mark it as decoration if it only repeats another image.",
        )
    return None


def _tokens(text: str) -> list[str]:
    """Words for comparing texts: Latin-like words of two or more letters or digits, and single CJK characters."""
    text = unicodedata.normalize("NFKC", text).casefold()
    cjk = re.findall(f"[{CJK}]", text)
    words = [word for word in re.findall(rf"[^\W_{CJK}]+", text) if len(word) > 1 or word.isdigit()]
    return words + cjk


def _quoted_preview(text: str) -> str:
    flat = " ".join(text.split())
    return f"“{flat}”" if len(flat) <= 80 else f"“{flat[:77].rstrip()}…”"  # a preview in a message, not the alt


def _visible_text_missing(text: str, visible_text: str, purpose: str) -> Finding | None:
    seen = _tokens(visible_text)
    if not seen or _normalised(visible_text) in _normalised(text):
        return None
    in_alt = set(_tokens(text))
    coverage = sum(token in in_alt for token in seen) / len(seen)
    preview = _quoted_preview(visible_text)
    if purpose == TEXT and coverage < 0.9:
        return Finding(
            "text-missing",
            "Leaves out text shown in the image",
            f"For an image that is mostly text, the alt text should be that text, word for word. The image shows "
            f"{preview}.",
        )
    if purpose == LINK and coverage < 1:
        return Finding(
            "text-missing",
            "Doesn't include the words shown on the link or button",
            f"People who use voice control click by saying the words they see: {preview}. Start the alt text with "
            f"those words, then say where it goes.",
        )
    if purpose in (INFORMATIVE, CHART) and coverage == 0:
        return Finding(
            "text-missing",
            "Doesn't mention the text in the image",
            f"The image shows {preview}, and the alt text doesn't mention it. If that text matters on this page, "
            f"include it; if not, ignore this.",
        )
    return None


_identifier_lock = threading.Lock()
_loaded: list = []


def _identifier():
    """py3langid's identifier, restricted to the offered languages; loaded once, on first use (about a second)."""
    if not _loaded:
        with _identifier_lock:
            if not _loaded:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(sorted({language.detector for language in LANGUAGES}))
                _loaded.append(identifier)
    return _loaded[0]


def guess_language(text: str) -> list[tuple[str, float]]:
    """(detector code, probability) for the offered languages, likeliest first; probabilities add up to 1."""
    return [(code, float(probability)) for code, probability in _identifier().rank(text)]


def _word_count(text: str) -> int:
    return len(re.findall(rf"[^\W\d_{CJK}]+", text)) + len(re.findall(f"[{CJK}]", text)) // 2


def _wrong_language(text: str, language: str, visible_text: str, purpose: str) -> Finding | None:
    if purpose == TEXT:  # the alt text is the image's text, in whatever language it is written
        return None
    try:
        wanted = get_language(language)
    except KeyError:
        return None
    if visible_text:  # words copied from the image keep their own language
        text = " ".join(text.split()).replace(" ".join(visible_text.split()), " ")
    text = re.sub(r"“[^”]*”|„[^“”]*[“”]|«[^»]*»|»[^«]*«|\"[^\"]*\"|「[^」]*」", " ", text)  # quotes, titles
    if _word_count(text) < MIN_WORDS_FOR_LANGUAGE:
        return None
    ranking = dict(guess_language(text))
    likeliest = max(ranking, key=ranking.get)
    if likeliest == wanted.detector or ranking[likeliest] < LANGUAGE_LIKELY:
        return None
    if ranking.get(wanted.detector, 0.0) >= LANGUAGE_UNLIKELY:
        return None
    seems = next(language.english for language in LANGUAGES if language.detector == likeliest)
    return Finding(
        "language",
        f"May not be in {wanted.english}",
        f"It reads like {seems}. Screen readers pronounce alt text with the page's language, so text in another "
        f"language is hard to follow. Write it in {wanted.english}, or ignore this if the words are names.",
    )
