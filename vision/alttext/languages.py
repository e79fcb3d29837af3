"""The languages FoxWeb writes alt text in, and how to recognise one from what people type."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # a BCP 47 tag, usable as the page's lang attribute
    english: str  # its name in English
    native: str  # its name in itself
    detector: str  # the language detector's code for it
    aliases: tuple[str, ...] = ()  # other codes and names that mean it (ISO 639-2/3, other spellings)

    @property
    def label(self) -> str:
        """Its name for menus: "German (Deutsch)", or just "English" when both names are the same."""
        return self.english if self.english == self.native else f"{self.english} ({self.native})"


DEFAULT_LANGUAGE = "en"

LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "English", "en", ("eng",)),
    Language("de", "German", "Deutsch", "de", ("deu", "ger")),
    Language("fr", "French", "Français", "fr", ("fra", "fre")),
    Language("es", "Spanish", "Español", "es", ("spa", "castellano", "castilian")),
    Language("it", "Italian", "Italiano", "it", ("ita",)),
    Language("nl", "Dutch", "Nederlands", "nl", ("nld", "dut", "flemish", "vlaams")),
    Language("pt", "Portuguese", "Português", "pt", ("por",)),
    Language("pl", "Polish", "Polski", "pl", ("pol",)),
    Language("sv", "Swedish", "Svenska", "sv", ("swe",)),
    Language("da", "Danish", "Dansk", "da", ("dan",)),
    Language("nb", "Norwegian (Bokmål)", "Norsk bokmål", "no", ("no", "nob", "nor", "norwegian", "norsk", "bokmal")),
    Language("fi", "Finnish", "Suomi", "fi", ("fin",)),
    Language("cs", "Czech", "Čeština", "cs", ("ces", "cze", "cesky", "czech")),
    Language("hu", "Hungarian", "Magyar", "hu", ("hun",)),
    Language("ro", "Romanian", "Română", "ro", ("ron", "rum")),
    Language("el", "Greek", "Ελληνικά", "el", ("ell", "gre")),
    Language("tr", "Turkish", "Türkçe", "tr", ("tur",)),
    Language("ru", "Russian", "Русский", "ru", ("rus",)),
    Language("uk", "Ukrainian", "Українська", "uk", ("ukr",)),
    Language("ja", "Japanese", "日本語", "ja", ("jpn",)),
    Language(
        "zh", "Chinese (Simplified)", "简体中文", "zh", ("zh-cn", "zh-sg", "zh-hans", "zho", "chi", "chinese", "中文")
    ),
    Language("zh-Hant", "Chinese (Traditional)", "繁體中文", "zh", ("zh-tw", "zh-hk", "zh-mo", "zh-hant")),
    Language("ko", "Korean", "한국어", "ko", ("kor",)),
)

_BY_CODE = {language.code: language for language in LANGUAGES}


def _key(value: str) -> str:
    """Case-, accent- and spacing-insensitive form of a code or name: "Français " -> "francais"."""
    decomposed = unicodedata.normalize("NFKD", value.strip().casefold())
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[\s_]+", "-", without_accents)


def _lookup_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for language in LANGUAGES:
        for name in (language.code, language.english, language.native, *language.aliases):
            table.setdefault(_key(name), language.code)
    return table


_LOOKUP = _lookup_table()


def get_language(code: str) -> Language:
    """The Language for a supported code (KeyError otherwise)."""
    return _BY_CODE[code]


def language_choices() -> list[tuple[str, str]]:
    """(code, "German (Deutsch)") pairs, for a form's select."""
    return [(language.code, language.label) for language in LANGUAGES]


def normalise_language(value: str | None) -> str | None:
    """A supported language code for what a person or a CSV column wrote, or None.

    Accepts codes in any case ("de", "DE", "deu"), regional tags ("pt-BR", "de_CH", "zh-TW"), and names
    in English or in the language itself, with or without accents ("German", "Deutsch", "Francais",
    "Portuguese (Brazil)").
    """
    if not value or not value.strip():
        return None
    key = _key(value)
    if key in _LOOKUP:
        return _LOOKUP[key]
    without_note = re.sub(r"\s*\(.*?\)\s*", "", value)  # "Portuguese (Brazil)" -> "Portuguese"
    if without_note != value and _key(without_note) in _LOOKUP:
        return _LOOKUP[_key(without_note)]
    parts = key.split("-")  # "pt-br" -> "pt", "zh-hant-tw" -> "zh-hant"
    for end in range(len(parts) - 1, 0, -1):
        prefix = "-".join(parts[:end])
        if len(parts[0]) in (2, 3) and prefix in _LOOKUP:
            return _LOOKUP[prefix]
    return None
