"""vision/catalog.py: one place for what FoxWeb knows about each model. Images are prepared no larger
than the model uses, the estimates match what the pipeline really produces and what the model's
documentation counts, and a bad FOXWEB_IMAGE_POLICIES stops FoxWeb at start-up with a plain message."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests import imagefactory as factory
from vision import catalog
from vision.images import SizePolicy, prepare_image

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {"landscape": (4000, 3000), "portrait": (3000, 4000), "square": (3000, 3000)}


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    """Large enough to be shrunk for every model, JPEGs as cameras send them."""
    return {shape: factory.encode(factory.photo(*size), "JPEG", quality=80) for shape, size in SHAPES.items()}


@pytest.fixture(scope="module")
def prepared(photos):
    """The sizes ``images.prepare_image`` really produces, per model and detail: each prepared once."""
    done: dict[tuple[str, bool], dict[str, tuple[int, int]]] = {}

    def sizes(model: str, high_detail: bool = False) -> dict[str, tuple[int, int]]:
        if (model, high_detail) not in done:
            policy = catalog.size_policy(model, high_detail=high_detail)
            done[model, high_detail] = {}
            for shape, data in photos.items():
                result = prepare_image(data, policy)
                done[model, high_detail][shape] = (result.width, result.height)
        return done[model, high_detail]

    return sizes


def patches(width: int, height: int, side: int) -> int:
    return math.ceil(width / side) * math.ceil(height / side)


# --- the catalogue ------------------------------------------------------------------------------


def test_it_offers_the_four_vision_models_of_the_contract():
    assert catalog.choices() == [
        ("claude-opus-4-7", "Claude Opus 4.7"),
        ("gemini-2.5-pro", "Gemini 2.5 Pro"),
        ("gpt-5.5", "GPT-5.5"),
        ("nemotron-3-nano-omni", "Nemotron 3 Nano Omni"),
    ]


@pytest.mark.parametrize(
    ("model", "images", "required", "minimum"),
    [
        ("claude-opus-4-7", 10, True, 1),
        ("gemini-2.5-pro", 10, False, 1),
        ("gpt-5.5", 1, False, 16),
        ("nemotron-3-nano-omni", 1, False, 1),
    ],
)
def test_it_holds_the_contract_rules_of_each_model(model, images, required, minimum):
    facts = catalog.get(model)
    assert (facts.max_images, facts.max_tokens_required, facts.min_max_tokens) == (images, required, minimum)


def test_it_caps_the_image_limit_at_foxweb_s_own(settings):
    assert catalog.max_images("claude-opus-4-7") == 10
    settings.FOXWEB_MAX_IMAGES_PER_TASK = 4
    assert catalog.max_images("claude-opus-4-7") == 4
    assert catalog.max_images("gpt-5.5") == 1


def test_it_asks_everyone_for_the_largest_max_tokens_minimum():
    assert catalog.max_tokens_floor() == 16


@pytest.mark.parametrize(
    ("name", "images", "required", "minimum", "size"),
    [
        ("claude-sonnet-4-6", 10, True, 1, SizePolicy(1568, 1_150_000)),
        ("gpt-5.4", 10, False, 16, SizePolicy(patch=32, max_patches=1536)),
        ("gemini-3-pro-preview", 10, False, 1, SizePolicy(patch=768, max_patches=4)),
        ("kimi-k2.6", 10, False, 1, SizePolicy(1536)),
    ],
)
def test_it_gives_unlisted_names_the_facts_of_their_family(name, images, required, minimum, size):
    facts = catalog.get(name)
    assert (facts.name, facts.label) == (name, name)
    assert (facts.max_images, facts.max_tokens_required, facts.min_max_tokens) == (images, required, minimum)
    assert catalog.size_policy(name) == size


def test_it_labels_models_it_knows_and_leaves_other_names_alone():
    assert catalog.label("gemini-2.5-pro") == "Gemini 2.5 Pro"
    assert catalog.label("some-new-model") == "some-new-model"


# --- prepared sizes: never more than the model uses --------------------------------------------


@pytest.mark.parametrize(
    ("high_detail", "long_edge", "pixels"),
    [(False, 1568, 1_150_000), (True, 2048, 3_750_000)],  # recommended; Opus 4.7 reads up to 2576 px, 3.75 MP
    ids=["normal", "high-detail"],
)
def test_it_prepares_claude_images_within_its_documented_sizes(prepared, high_detail, long_edge, pixels):
    for width, height in prepared("claude-opus-4-7", high_detail).values():
        assert max(width, height) <= long_edge and width * height <= pixels
        # ...and uses what it may: one limit or the other is reached.
        assert max(width, height) == long_edge or width * height > 0.99 * pixels


@pytest.mark.parametrize("high_detail", [False, True], ids=["normal", "high-detail"])
def test_it_prepares_gpt_images_within_1536_patches_of_32_px(prepared, high_detail):
    sizes = prepared("gpt-5.5", high_detail)
    for width, height in sizes.values():
        assert patches(width, height, 32) <= 1536
        assert patches(width, height, 32) > 1536 * 0.95  # and not much smaller: nothing thrown away needlessly
    # A square photo used to go out at 1536 x 1536 (2,304 patches), which the model shrank again.
    assert sizes["square"] == (1248, 1248)
    assert sizes["landscape"] == (1440, 1080)


def test_it_prepares_gemini_images_in_at_most_4_tiles_filling_the_long_edge(prepared):
    sizes = prepared("gemini-2.5-pro")
    assert sizes == {"landscape": (1536, 1152), "portrait": (1152, 1536), "square": (1536, 1536)}
    for width, height in sizes.values():
        assert patches(width, height, 768) <= 4
        assert max(width, height) % 768 == 0  # the long edge fills its tiles exactly


def test_high_detail_gives_gemini_at_most_9_tiles(prepared):
    sizes = prepared("gemini-2.5-pro", high_detail=True)
    assert sizes == {"landscape": (2304, 1728), "portrait": (1728, 2304), "square": (2304, 2304)}


def test_gemini_tiles_give_panoramas_the_whole_tile_budget():
    assert catalog.estimate_prepared_size("gemini-2.5-pro", 6000, 2000) == (2304, 768)  # 3 x 1 tiles
    assert catalog.estimate_prepared_size("gemini-2.5-pro", 6000, 3375) == (1536, 864)  # 16:9 in 2 x 2
    assert catalog.estimate_prepared_size("gemini-2.5-pro", 6000, 3375, high_detail=True) == (2731, 1536)  # 4 x 2


@pytest.mark.parametrize("high_detail", [False, True], ids=["normal", "high-detail"])
def test_nemotron_keeps_foxweb_s_default_sizes(prepared, high_detail):
    limit = 2048 if high_detail else 1536
    assert {max(size) for size in prepared("nemotron-3-nano-omni", high_detail).values()} == {limit}


@pytest.mark.parametrize("model", [name for name, _ in catalog.choices()])
@pytest.mark.parametrize("high_detail", [False, True], ids=["normal", "high-detail"])
def test_no_prepared_image_is_larger_than_the_model_uses(prepared, model, high_detail):
    native = catalog.get(model).native
    for width, height in prepared(model, high_detail).values():
        assert native is None or native.fits(width, height)
        assert catalog.size_policy(model, high_detail).fits(width, height)


@pytest.mark.parametrize("model", [name for name, _ in catalog.choices()])
@pytest.mark.parametrize("high_detail", [False, True], ids=["normal", "high-detail"])
def test_the_estimated_size_is_the_size_the_pipeline_produces(prepared, model, high_detail):
    for shape, size in prepared(model, high_detail).items():
        assert catalog.estimate_prepared_size(model, *SHAPES[shape], high_detail=high_detail) == size


def test_the_estimated_size_is_for_the_picture_as_shown_after_exif_orientation():
    # Stored 2000 x 1500 with "rotate 90°", as phones do: shown (and prepared) upright, 1500 x 2000.
    data = factory.oriented_jpeg(factory.photo(1500, 2000), 6)
    prepared = prepare_image(data, catalog.size_policy("claude-opus-4-7"))
    assert (prepared.width, prepared.height) == catalog.estimate_prepared_size("claude-opus-4-7", 1500, 2000)
    assert prepared.width < prepared.height


def test_small_images_are_estimated_as_they_are():
    assert catalog.estimate_prepared_size("gpt-5.5", 800, 600) == (800, 600)
    assert catalog.estimate_prepared_size("claude-opus-4-7", 120, 90, high_detail=True) == (120, 90)


# --- token estimates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [(200, 200, 54), (1000, 1000, 1334), (1092, 1092, 1590), (75, 10, 1)],  # Anthropic's examples; exact 750
)
def test_claude_tokens_are_pixels_over_750(width, height, tokens):
    assert catalog.estimate_image_tokens("claude-opus-4-7", width, height) == tokens


def test_claude_tokens_count_what_the_model_keeps_of_a_larger_image():
    # Opus 4.7 shrinks anything beyond 2576 px / 3.75 MP before it counts.
    assert catalog.estimate_image_tokens("claude-opus-4-7", 8000, 8000) == math.ceil(1936 * 1936 / 750)
    # Earlier Claude models stop at the recommended 1568 px / 1.15 MP.
    assert catalog.estimate_image_tokens("claude-sonnet-4-6", 8000, 8000) <= 1_150_000 / 750 + 1


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [(1024, 1024, 1024), (1440, 1080, 45 * 34), (1248, 1248, 39 * 39), (33, 33, 4), (8000, 8000, 1521)],
)
def test_gpt_tokens_are_32_px_patches_at_most_1536(width, height, tokens):
    assert catalog.estimate_image_tokens("gpt-5.5", width, height) == tokens


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [(384, 384, 258), (200, 100, 258), (385, 100, 258), (768, 769, 516), (1536, 1152, 1032), (2304, 1728, 2322)],
)
def test_gemini_tokens_are_258_per_768_px_tile(width, height, tokens):
    assert catalog.estimate_image_tokens("gemini-2.5-pro", width, height) == tokens


def test_nemotron_tokens_are_an_admitted_guess_like_claude_s():
    assert catalog.estimate_image_tokens("nemotron-3-nano-omni", 1536, 1152) == math.ceil(1536 * 1152 / 750)


@pytest.mark.parametrize("model", [name for name, _ in catalog.choices()])
def test_estimates_for_a_batch_follow_the_prepared_size(model):
    width, height = catalog.estimate_prepared_size(model, 4000, 3000)
    assert catalog.estimate_image_tokens(model, width, height) == catalog.get(model).token_formula(width, height)


# --- FOXWEB_IMAGE_POLICIES ------------------------------------------------------------------------


def test_an_override_replaces_the_catalogue_size_for_its_prefix(settings):
    settings.FOXWEB_IMAGE_POLICIES = {"claude-": {"long_edge": 1000}}
    assert catalog.size_policy("claude-opus-4-7") == SizePolicy(1000)
    assert catalog.size_policy("claude-opus-4-7", high_detail=True) == SizePolicy(1000)
    assert catalog.size_policy("gpt-5.5") == SizePolicy(patch=32, max_patches=1536)
    assert catalog.estimate_prepared_size("claude-opus-4-7", 4000, 3000) == (1000, 750)


def test_an_override_may_give_its_own_high_detail_size(settings):
    settings.FOXWEB_IMAGE_POLICIES = {
        "default": {"long_edge": 800, "high_detail": {"patch": 32, "max_patches": 2000}},
        "gpt-": {"long_edge": 1000},
        "gpt-5": {"long_edge": 1200, "max_pixels": None},
    }
    assert catalog.size_policy("anything") == SizePolicy(800)
    assert catalog.size_policy("anything", high_detail=True) == SizePolicy(patch=32, max_patches=2000)
    assert catalog.size_policy("gpt-5.5") == SizePolicy(1200)  # the longest matching prefix wins
    assert catalog.size_policy("gpt-4o") == SizePolicy(1000)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([1536], "must be a JSON object"),
        ({"": {"long_edge": 1}}, "empty key"),
        ({"claude-": 1568}, "'claude-' must be an object"),
        (
            {"claude-": {"long_edge": "big"}},
            "'claude-': long_edge must be a whole number of at least 1 or null, not 'big'",
        ),
        ({"claude-": {"long_edge": 0}}, "not 0"),
        ({"claude-": {"long_edge": 1568.5}}, "not 1568.5"),
        ({"claude-": {"long_side": 1568}}, "'claude-' has an unknown setting 'long_side'"),
        ({"gpt-5": {"max_patches": 1536}}, "'gpt-5': patch and max_patches go together"),
        ({"default": {}}, "'default': a size policy needs at least one limit"),
        ({"default": {"long_edge": 9, "high_detail": {"long_edge": -1}}}, "'default high_detail': long_edge"),
        ({"default": {"long_edge": 9, "high_detail": {"high_detail": {}}}}, "unknown setting 'high_detail'"),
    ],
)
def test_a_bad_override_is_refused_with_a_message_naming_it(value, words):
    with pytest.raises(ImproperlyConfigured) as refused:
        catalog.validate_overrides(value)
    assert str(refused.value).startswith("FOXWEB_IMAGE_POLICIES ")
    assert words in str(refused.value)


def run_check(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check` in a fresh process, as at start-up, with these settings in the environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("FOXWEB_", "FOXAPI_"))}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"FOXWEB_IMAGE_POLICIES": '{"claude-": {"long_edge": "big"}}'},
            "FOXWEB_IMAGE_POLICIES 'claude-': long_edge must be a whole number of at least 1 or null, not 'big'.",
        ),
        ({"FOXWEB_IMAGE_POLICIES": '{"claude-": {"long_edge": 1568'}, "FOXWEB_IMAGE_POLICIES must be JSON"),
        ({"FOXWEB_DEFAULT_MODEL": "gpt-4o"}, "FOXWEB_DEFAULT_MODEL is 'gpt-4o', which is not a model FoxWeb offers"),
    ],
)
def test_bad_model_settings_stop_foxweb_at_start_up(env, words):
    result = run_check(**env)
    assert result.returncode != 0
    assert words in result.stderr.strip().splitlines()[-1]


def test_a_good_override_starts_fine():
    result = run_check(
        FOXWEB_IMAGE_POLICIES='{"gemini-": {"patch": 768, "max_patches": 1}, "default": {"long_edge": 1024}}'
    )
    assert result.returncode == 0, result.stderr
