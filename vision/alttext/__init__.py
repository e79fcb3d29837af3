"""Alt text done right: what the image is for, the prompt for it, reading the answer, and checks.

- purposes.py: the purposes ("How is this image used?"), their prompts and build_prompt;
- languages.py: the output languages and normalise_language;
- parsing.py: parse_answer (a model's answer -> AltResult) and html_alt_attribute;
- checks.py: check (warnings that explain themselves and never block).

A decorative image needs no model: needs_model(purpose) is False and decorative_result() is its answer.
"""

from vision.alttext.checks import Finding, check, guess_language
from vision.alttext.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    get_language,
    language_choices,
    normalise_language,
)
from vision.alttext.parsing import AltResult, clean_alt, html_alt_attribute, parse_answer
from vision.alttext.purposes import (
    CHART,
    DECORATIVE,
    DECORATIVE_REASON,
    DEFAULT_PURPOSE,
    INFORMATIVE,
    LINK,
    PROMPTS,
    PURPOSES,
    QUESTION,
    TEXT,
    ExtraField,
    PromptInfo,
    Purpose,
    build_prompt,
    get_purpose,
    needs_model,
    purpose_choices,
    recognise_prompt,
    with_reference,
)


def decorative_result() -> AltResult:
    """The answer for a decorative image, with no model asked: an empty alt text (see DECORATIVE_REASON)."""
    return AltResult(alt="")


__all__ = [
    "CHART",
    "DECORATIVE",
    "DECORATIVE_REASON",
    "DEFAULT_LANGUAGE",
    "DEFAULT_PURPOSE",
    "INFORMATIVE",
    "LANGUAGES",
    "LINK",
    "PROMPTS",
    "PURPOSES",
    "QUESTION",
    "TEXT",
    "AltResult",
    "ExtraField",
    "Finding",
    "Language",
    "PromptInfo",
    "Purpose",
    "build_prompt",
    "check",
    "clean_alt",
    "decorative_result",
    "get_language",
    "get_purpose",
    "guess_language",
    "html_alt_attribute",
    "language_choices",
    "needs_model",
    "normalise_language",
    "parse_answer",
    "purpose_choices",
    "recognise_prompt",
    "with_reference",
]
