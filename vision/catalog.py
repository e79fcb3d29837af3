"""The model catalogue: what FoxWeb knows about each vision model, in one place.

For every model FoxWeb offers: its name and label, how many images one request may carry, how large
an image FoxWeb sends (normally and with "High detail"), the largest image the model itself uses,
how the model counts an image in tokens, and its rules for ``max_tokens``. The form, the image
pipeline, the token estimates, the templates and the sandbox all read these facts from here.

Size policies are each model's documented optimum; the numbers and where they come from:

- **Claude** (Anthropic, "Images and vision", platform.claude.com/docs/en/build-with-claude/vision):
  an image costs about ``width * height / 750`` tokens. Anthropic recommends at most 1.15 megapixels
  and 1568 px on either side "to improve time-to-first-token"; up to Claude Opus 4.6 that is also the
  largest image the model uses (a longer edge than 1568 px, or more than about 1,600 tokens, is scaled
  down first). Claude Opus 4.7 reads images up to 2576 px on the long edge, about 3.75 megapixels,
  which is what FoxWeb's "High detail" uses (2048 px, at most 3.75 MP). The newer pages count
  ``ceil(w / 28) * ceil(h / 28)`` visual tokens instead, within 5 % of ``w * h / 750``.
- **GPT-5** (OpenAI, "Images and vision", platform.openai.com/docs/guides/images-vision, "Calculating
  costs", patch-based models): the image is covered by 32 x 32 px patches, at most 1536 of them; a
  larger image is scaled down by the model until it fits, so anything larger only costs bytes and
  time. FoxWeb sends the largest size that fits in 1536 patches, normal or "High detail" alike: FoxAPI
  has no ``detail`` option, and the model would shrink a larger image again. The guide lists a token
  multiplier per model (1.62 for gpt-5-mini, for example); none is published for gpt-5.5, so the
  estimate counts one token per patch.
- **Gemini** (Google, "Understand and count tokens", ai.google.dev/gemini-api/docs/tokens): an image
  with both sides at most 384 px counts as one tile of 258 tokens; a larger one is cut into tiles of
  768 x 768 px, 258 tokens each. Every tile is read at its full 768 px, so no pixel sent is thrown
  away; what costs is each tile begun. FoxWeb therefore budgets tiles, as it budgets GPT-5's patches:
  at most 4 (1,032 tokens), the largest size whose tiles number no more. For every shape up to 2:1
  that is a long edge of 1536 px, exactly two tiles; a longer edge would begin a third column of
  tiles, 50 % more tokens for a sliver of picture. A panorama gets its tiles in a row (3 x 1 at
  2304 x 768 for 3:1). "High detail" allows 9 tiles (2,322 tokens): 2304 px for shapes up to 3:2.
- **Nemotron 3 Nano Omni**: neither NVIDIA nor FoxAPI documents an image size or a token count for
  it, so FoxWeb keeps its general default (1536 px on the long edge, 2048 px for "High detail") and
  estimates tokens as for Claude, ``w * h / 750``. Both are guesses and say so here.

Image limits and ``max_tokens`` rules come from FoxAPI's contract (shared/foxapi/CONTRACT.md): gpt-5.5
and nemotron-3-nano-omni take one image, the others up to 10; Claude models require ``max_tokens``;
gpt-5.x models refuse a ``max_tokens`` below 16.

Names the catalogue does not list get the facts of their family by prefix ("claude-", "gpt-5",
"gemini-"), or else the general default. ``FOXWEB_IMAGE_POLICIES`` can override the size FoxWeb
sends (see ``validate_overrides`` and the README); it is checked when Django starts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from vision.images import SizePolicy, target_size

DEFAULT_MAX_TOKENS = 1024

CLAUDE_PIXELS_PER_TOKEN = 750
GPT_PATCH = 32
GPT_MAX_PATCHES = 1536
GEMINI_TILE = 768
GEMINI_TOKENS_PER_TILE = 258
GEMINI_SMALL_IMAGE = 384  # both sides at most this: one tile


def pixel_tokens(width: int, height: int) -> int:
    """Claude's formula: about one token per 750 pixels."""
    return math.ceil(width * height / CLAUDE_PIXELS_PER_TOKEN)


def patch_tokens(width: int, height: int) -> int:
    """GPT-5's patches: one per 32 x 32 px square that covers the image."""
    return math.ceil(width / GPT_PATCH) * math.ceil(height / GPT_PATCH)


def tile_tokens(width: int, height: int) -> int:
    """Gemini's tiles: 258 tokens per 768 x 768 px tile; a small image is one tile."""
    if width <= GEMINI_SMALL_IMAGE and height <= GEMINI_SMALL_IMAGE:
        return GEMINI_TOKENS_PER_TILE
    return math.ceil(width / GEMINI_TILE) * math.ceil(height / GEMINI_TILE) * GEMINI_TOKENS_PER_TILE


@dataclass(frozen=True)
class Model:
    """What FoxWeb knows about one model."""

    name: str  # as FoxAPI spells it
    label: str  # as people read it
    max_images: int  # per request, by FoxAPI's contract
    size: SizePolicy  # what FoxWeb sends
    high_detail: SizePolicy  # what FoxWeb sends for "High detail (small print)"
    native: SizePolicy | None  # the largest image the model uses (it shrinks larger ones); None: not documented
    token_formula: Callable[[int, int], int]  # tokens for an image of that size, as the model counts them
    max_tokens_required: bool = False
    min_max_tokens: int = 1  # the smallest max_tokens the model accepts
    # FoxAPI's contract: some thinking models "may need" the reasoning flag; a refusal is retried with it.
    may_need_reasoning_flag: bool = False

    def image_tokens(self, width: int, height: int) -> int:
        """Tokens for one image of this size, counted the model's way after the model's own shrinking."""
        if self.native is not None:
            width, height = target_size((width, height), self.native)
        return self.token_formula(width, height)


CLAUDE_RECOMMENDED = SizePolicy(long_edge=1568, max_pixels=1_150_000)
GPT_PATCHES = SizePolicy(patch=GPT_PATCH, max_patches=GPT_MAX_PATCHES)
DEFAULT_SIZE = SizePolicy(long_edge=1536)
DEFAULT_HIGH_DETAIL = SizePolicy(long_edge=2048)

_CATALOGUE = (
    Model(
        name="claude-opus-4-7",
        label="Claude Opus 4.7",
        max_images=10,
        size=CLAUDE_RECOMMENDED,
        high_detail=SizePolicy(long_edge=2048, max_pixels=3_750_000),
        native=SizePolicy(long_edge=2576, max_pixels=3_750_000),
        token_formula=pixel_tokens,
        max_tokens_required=True,
    ),
    Model(
        name="gemini-2.5-pro",
        label="Gemini 2.5 Pro",
        max_images=10,
        size=SizePolicy(patch=GEMINI_TILE, max_patches=4),
        high_detail=SizePolicy(patch=GEMINI_TILE, max_patches=9),
        native=None,  # every 768-px tile is read in full; no largest size is documented
        token_formula=tile_tokens,
        may_need_reasoning_flag=True,
    ),
    Model(
        name="gpt-5.5",
        label="GPT-5.5",
        max_images=1,
        size=GPT_PATCHES,
        high_detail=GPT_PATCHES,
        native=GPT_PATCHES,
        token_formula=patch_tokens,
        min_max_tokens=16,
    ),
    Model(
        name="nemotron-3-nano-omni",
        label="Nemotron 3 Nano Omni",
        max_images=1,
        size=DEFAULT_SIZE,  # no documented figure: FoxWeb's general default
        high_detail=DEFAULT_HIGH_DETAIL,
        native=None,
        token_formula=pixel_tokens,  # a guess, see the module docstring
    ),
)
MODELS: dict[str, Model] = {model.name: model for model in _CATALOGUE}

# Facts for names the catalogue does not list, by family (longest matching prefix first), then in general.
# Up to Claude Opus 4.6 the recommended size is also the largest the model uses.
FAMILIES: dict[str, Model] = {
    "claude-": dataclasses.replace(
        MODELS["claude-opus-4-7"], high_detail=CLAUDE_RECOMMENDED, native=CLAUDE_RECOMMENDED
    ),
    "gpt-5": dataclasses.replace(MODELS["gpt-5.5"], max_images=10),
    "gemini-": MODELS["gemini-2.5-pro"],
}
GENERAL = Model(
    name="",
    label="",
    max_images=10,
    size=DEFAULT_SIZE,
    high_detail=DEFAULT_HIGH_DETAIL,
    native=None,
    token_formula=pixel_tokens,
)

POLICY_KEYS = ("long_edge", "max_pixels", "patch", "max_patches")


def get(name: str) -> Model:
    """The model called ``name``: from the catalogue, else its family's facts, else the general default."""
    if name in MODELS:
        return MODELS[name]
    family = _longest_prefix(name, FAMILIES)
    template = FAMILIES[family] if family is not None else GENERAL
    return dataclasses.replace(template, name=name, label=name)


def choices() -> list[tuple[str, str]]:
    """The models FoxWeb offers, as (name, label) pairs for a form."""
    return [(model.name, model.label) for model in MODELS.values()]


def label(name: str) -> str:
    """A model's friendly name ("Claude Opus 4.7") where the catalogue has it, else its name."""
    return MODELS[name].label if name in MODELS else name


def max_images(name: str) -> int:
    """How many images one description with this model may carry, within FOXWEB_MAX_IMAGES_PER_TASK."""
    return min(get(name).max_images, settings.FOXWEB_MAX_IMAGES_PER_TASK)


def max_tokens_floor() -> int:
    """The smallest longest-answer limit every offered model accepts (16, for GPT-5.5)."""
    return max(model.min_max_tokens for model in MODELS.values())


def size_policy(name: str, high_detail: bool = False) -> SizePolicy:
    """The size FoxWeb prepares images at for this model: FOXWEB_IMAGE_POLICIES if it names the
    model (longest matching prefix, or "default"), else the catalogue's."""
    override = _override_for(name, high_detail)
    if override is not None:
        return override
    model = get(name)
    return model.high_detail if high_detail else model.size


def estimate_prepared_size(name: str, width: int, height: int, high_detail: bool = False) -> tuple[int, int]:
    """The size the pipeline makes of an image shown at ``width`` x ``height`` (after EXIF orientation),
    without decoding it: for estimating a batch before anything is prepared."""
    return target_size((width, height), size_policy(name, high_detail))


def estimate_image_tokens(name: str, width: int, height: int) -> int:
    """The tokens one image of this (prepared) size costs with this model, by the model's documented formula."""
    return get(name).image_tokens(width, height)


# --- FOXWEB_IMAGE_POLICIES ----------------------------------------------------------------------


def validate_overrides(value: object) -> dict[str, tuple[SizePolicy, SizePolicy]]:
    """Read FOXWEB_IMAGE_POLICIES: ``{prefix or "default": {limits, optional "high_detail": {limits}}}``.

    Limits are any of ``long_edge``, ``max_pixels`` and ``patch`` with ``max_patches``, whole numbers
    (``null`` for none). Without "high_detail", High detail uses the same size. Returns, per key, the
    normal and the High detail policy; raises ImproperlyConfigured naming the bad key and value.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"must be a JSON object of model-name prefixes, not {value!r}")
    policies = {}
    for key, limits in value.items():
        if not isinstance(key, str) or not key:
            raise _bad("has an empty key; use a model-name prefix such as 'claude-', or 'default'")
        normal = _policy(key, limits, allow_high_detail=True)
        detail = _policy(f"{key} high_detail", limits["high_detail"]) if "high_detail" in limits else normal
        policies[key] = (normal, detail)
    return policies


def _policy(where: str, limits: object, *, allow_high_detail: bool = False) -> SizePolicy:
    if not isinstance(limits, dict):
        raise _bad(f'{where!r} must be an object such as {{"long_edge": 1536}}, not {limits!r}')
    allowed = POLICY_KEYS + (("high_detail",) if allow_high_detail else ())
    unknown = [key for key in limits if key not in allowed]
    if unknown:
        raise _bad(f"{where!r} has an unknown setting {unknown[0]!r}; use {', '.join(allowed)}")
    for key in POLICY_KEYS:
        number = limits.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
            raise _bad(f"{where!r}: {key} must be a whole number of at least 1 or null, not {number!r}")
    try:
        return SizePolicy(**{key: limits.get(key) for key in POLICY_KEYS})
    except ValueError as error:
        raise _bad(f"{where!r}: {error}") from None


def _bad(problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"FOXWEB_IMAGE_POLICIES {problem}.")


def _override_for(name: str, high_detail: bool) -> SizePolicy | None:
    policies = validate_overrides(settings.FOXWEB_IMAGE_POLICIES)  # small; read each time so tests can change it
    key = _longest_prefix(name, {key: None for key in policies if key != "default"})
    if key is None:
        key = "default" if "default" in policies else None
    if key is None:
        return None
    normal, detail = policies[key]
    return detail if high_detail else normal


def _longest_prefix(name: str, table: dict) -> str | None:
    matching = [prefix for prefix in table if name.startswith(prefix)]
    return max(matching, key=len) if matching else None


def check_settings() -> None:
    """Refuse to start with a bad FOXWEB_IMAGE_POLICIES or a FOXWEB_DEFAULT_MODEL FoxWeb does not offer."""
    validate_overrides(settings.FOXWEB_IMAGE_POLICIES)
    if settings.FOXWEB_DEFAULT_MODEL not in MODELS:
        raise ImproperlyConfigured(
            f"FOXWEB_DEFAULT_MODEL is {settings.FOXWEB_DEFAULT_MODEL!r}, which is not a model FoxWeb offers; "
            f"use one of {', '.join(MODELS)}."
        )
