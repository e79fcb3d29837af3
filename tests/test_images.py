"""vision/images.py: every image is checked by content, shrunk to the model's policy, turned upright,
cleaned of metadata and re-encoded; everything else is refused with a plain-language ImageError."""

from __future__ import annotations

import base64
import hashlib
import io
import threading

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin

from tests import imagefactory as factory
from vision import images
from vision.catalog import size_policy
from vision.images import ImageError, SizePolicy, prepare_image, prepare_images

CLAUDE = SizePolicy(1568, 1_150_000)
SMALL = SizePolicy(48, None)
MODES = ["1", "L", "LA", "P", "P+transparency", "RGB", "RGBA", "I;16", "CMYK"]
examples = hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def is_reddish(pixel) -> bool:
    red, green, blue = pixel[:3]
    return red > 180 and green < 90 and blue < 90


def is_bluish(pixel) -> bool:
    red, green, blue = pixel[:3]
    return blue > 180 and red < 90 and green < 90


# --- size policy ------------------------------------------------------------------------------


def test_claude_3_2_photo_is_about_1313_by_876():
    width, height = images.target_size((6000, 4000), CLAUDE)
    assert abs(width - 1313) <= 1 and abs(height - 876) <= 1
    assert width * height <= 1_150_000


@examples
@given(
    width=st.integers(1, 20_000),
    height=st.integers(1, 20_000),
    long_edge=st.integers(1, 4096),
    max_pixels=st.none() | st.integers(1, 20_000_000),
)
def test_target_size_fits_the_policy_keeps_the_shape_and_never_upscales(width, height, long_edge, max_pixels):
    new_width, new_height = images.target_size((width, height), SizePolicy(long_edge, max_pixels))
    assert 1 <= new_width <= width and 1 <= new_height <= height
    if (new_width, new_height) != (width, height):
        assert max(new_width, new_height) <= long_edge
        if max_pixels and max_pixels >= 4:
            assert new_width * new_height <= max(max_pixels, new_width, new_height)
        scale = min(long_edge / max(width, height), (max_pixels / (width * height)) ** 0.5 if max_pixels else 1)
        assert abs(new_width - max(1, width * scale)) <= 1 and abs(new_height - max(1, height * scale)) <= 1
    else:
        assert max(width, height) <= long_edge and (max_pixels is None or width * height <= max_pixels)


@examples
@given(
    width=st.integers(1, 20_000),
    height=st.integers(1, 20_000),
    patch=st.sampled_from([32, 768]),
    max_patches=st.integers(1, 3000),
)
def test_target_size_within_a_patch_budget_is_the_largest_that_fits(width, height, patch, max_patches):
    policy = SizePolicy(patch=patch, max_patches=max_patches)
    new_width, new_height = images.target_size((width, height), policy)
    assert 1 <= new_width <= width and 1 <= new_height <= height
    assert policy.patches(new_width, new_height) <= max_patches
    if min(new_width, new_height) > 1:  # the shape is kept, to rounding
        assert abs(new_width * height - new_height * width) <= max(width, height)
    # The largest such size: no scale that puts a side on a patch boundary gives a larger one that fits.
    scales = [1.0] + [patch * count / side for side in (width, height) for count in range(1, side // patch + 1)]
    sizes = [(max(1, round(width * scale)), max(1, round(height * scale))) for scale in scales]
    best = max((size for size in sizes if policy.patches(*size) <= max_patches), key=lambda size: size[0] * size[1])
    assert new_width * new_height == best[0] * best[1]


@pytest.mark.parametrize(("size", "expected"), [((4000, 3000), (1440, 1080)), ((4000, 4000), (1248, 1248))])
def test_a_32_px_patch_budget_of_1536_keeps_photos_under_it(size, expected):
    policy = SizePolicy(patch=32, max_patches=1536)
    assert images.target_size(size, policy) == expected
    assert images.target_size(expected, policy) == expected  # already within: left alone


def test_a_policy_needs_a_limit_and_whole_numbers():
    with pytest.raises(ValueError, match="at least one limit"):
        SizePolicy()
    with pytest.raises(ValueError, match="go together"):
        SizePolicy(patch=32)
    with pytest.raises(ValueError, match="whole number"):
        SizePolicy(long_edge=0)


def test_3_2_photo_prepared_for_claude_is_about_1313_by_876():
    prepared = prepare_image(factory.encode(factory.photo(3000, 2000), "JPEG"), size_policy("claude-opus-4-7"))
    assert abs(prepared.width - 1313) <= 1 and abs(prepared.height - 876) <= 1
    assert prepared.width * prepared.height <= 1_150_000


def test_high_detail_sends_a_larger_image():
    data = factory.encode(factory.photo(3000, 2000), "JPEG")
    normal = prepare_image(data, size_policy("claude-opus-4-7"))
    detailed = prepare_image(data, size_policy("claude-opus-4-7", high_detail=True))
    assert (detailed.width, detailed.height) == (2048, 1365)
    assert detailed.width > normal.width


def test_small_images_are_never_upscaled():
    prepared = prepare_image(factory.encode(factory.photo(300, 200), "JPEG"), CLAUDE)
    assert (prepared.width, prepared.height) == (300, 200)


@examples
@given(mode=st.sampled_from(MODES), orientation=st.integers(1, 8), width=st.integers(1, 96), height=st.integers(1, 96))
def test_any_mode_size_and_orientation_comes_out_upright_within_policy_and_clean(mode, orientation, width, height):
    prepared = prepare_image(factory.saved_in_mode(mode, width, height, orientation), SMALL)
    expected = images.target_size((width, height), SMALL)
    assert (prepared.width, prepared.height) == expected
    assert (prepared.original_width, prepared.original_height) == (width, height)
    output = decoded(prepared.data)
    assert output.size == expected
    assert output.format == prepared.format
    assert output.mode in ("L", "LA", "RGB", "RGBA")
    assert not output.getexif()
    assert "icc_profile" not in output.info and "exif" not in output.info


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "options"),
    [
        ("JPEG", {}),
        ("PNG", {}),
        ("WEBP", {"quality": 95}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("HEIF", {"quality": 95}),
    ],
)
def test_every_accepted_format_round_trips(image_format, options):
    data = factory.encode(factory.upright_with_red_corner(64, 48), image_format, **options)
    prepared = prepare_image(data, CLAUDE)
    assert prepared.original_format == image_format
    assert (prepared.width, prepared.height) == (64, 48)
    output = decoded(prepared.data).convert("RGB")
    assert is_reddish(output.getpixel((2, 2)))
    assert is_bluish(output.getpixel((60, 44)))


def test_phone_mpo_photos_are_jpegs_and_give_their_first_picture():
    first, second = factory.upright_with_red_corner(64, 48), Image.new("RGB", (64, 48), factory.GREEN)
    prepared = prepare_image(factory.encode(first, "MPO", save_all=True, append_images=[second]), CLAUDE)
    assert prepared.original_format == "JPEG"
    assert is_reddish(decoded(prepared.data).convert("RGB").getpixel((2, 2)))


def test_jpegs_are_decoded_at_a_reduced_scale_when_the_target_allows(monkeypatch):
    drafts = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        drafts.append(size)
        return original_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    data = factory.oriented_jpeg(factory.photo(800, 1200), 6)  # stored 1200 x 800, shown 800 x 1200
    prepared = prepare_image(data, SizePolicy(300))
    assert drafts == [(300, 200)]  # the target box in stored (sideways) pixels
    assert (prepared.width, prepared.height) == (200, 300)


@pytest.mark.parametrize(
    ("image_format", "options"),
    [("PPM", {}), ("ICO", {}), ("TGA", {}), ("PCX", {}), ("AVIF", {}), ("JPEG2000", {}), ("QOI", {})],
)
def test_formats_outside_the_allow_list_are_refused_even_if_pillow_reads_them(image_format, options):
    data = factory.encode(factory.photo(32, 32), image_format, **options)
    with pytest.raises(ImageError, match="not an image FoxWeb can read"):
        prepare_image(data, CLAUDE)


def test_photos_become_jpeg():
    prepared = prepare_image(factory.encode(factory.photo(400, 300), "PNG"), CLAUDE)
    assert (prepared.format, prepared.mime_type) == ("JPEG", "image/jpeg")


def test_line_art_becomes_png():
    drawing = Image.new("RGB", (400, 300), "white")
    drawing.paste((0, 0, 0), (50, 50, 350, 60))
    prepared = prepare_image(factory.encode(drawing, "PNG"), SizePolicy(200))
    assert (prepared.format, prepared.mime_type) == ("PNG", "image/png")


def test_transparent_line_art_becomes_png_with_its_transparency():
    logo = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    logo.paste((0, 0, 0, 255), (20, 20, 180, 80))
    prepared = prepare_image(factory.encode(logo, "PNG"), CLAUDE)
    output = decoded(prepared.data)
    assert (prepared.format, output.mode) == ("PNG", "RGBA")
    assert output.getpixel((5, 5))[3] == 0 and output.getpixel((100, 50)) == (0, 0, 0, 255)


def test_palette_images_become_png():
    gif = factory.encode(factory.photo(200, 100).convert("P"), "GIF")
    assert prepare_image(gif, CLAUDE).format == "PNG"


def test_transparent_photo_keeps_its_transparency_as_webp():
    picture = factory.photo(200, 100).convert("RGBA")
    picture.paste((255, 0, 0, 0), (0, 0, 100, 100))
    prepared = prepare_image(factory.encode(picture, "PNG"), SizePolicy(100))
    assert (prepared.format, prepared.mime_type) == ("WEBP", "image/webp")
    output = decoded(prepared.data)
    assert output.mode == "RGBA"
    assert output.getpixel((10, 25))[3] == 0
    assert output.getpixel((90, 25))[3] == 255


def test_opaque_alpha_channel_gives_a_jpeg():
    prepared = prepare_image(factory.encode(factory.photo(200, 100).convert("RGBA"), "PNG"), CLAUDE)
    assert prepared.format == "JPEG"


def test_animated_images_give_their_first_frame():
    frames = [Image.new("RGB", (40, 40), colour) for colour in (factory.RED, factory.BLUE, factory.GREEN)]
    for image_format in ("GIF", "WEBP", "PNG"):
        data = factory.encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100)
        output = decoded(prepare_image(data, CLAUDE).data).convert("RGB")
        assert is_reddish(output.getpixel((20, 20))), image_format


# --- orientation ------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("policy", [CLAUDE, SizePolicy(40)], ids=["as-is", "resized"])
def test_exif_rotated_photo_comes_out_the_right_way_up(orientation, policy):
    upright = factory.upright_with_red_corner(120, 80)
    prepared = prepare_image(factory.oriented_jpeg(upright, orientation, quality=95), policy)
    width, height = images.target_size((120, 80), policy)
    assert (prepared.width, prepared.height) == (width, height)
    assert (prepared.original_width, prepared.original_height) == (120, 80)
    output = decoded(prepared.data).convert("RGB")
    assert is_reddish(output.getpixel((1, 1)))
    for corner in ((width - 2, 1), (1, height - 2), (width - 2, height - 2)):
        assert is_bluish(output.getpixel(corner)), corner


def test_sideways_phone_photo_uses_the_portrait_size_for_the_policy():
    upright = factory.photo(2000, 3000)
    prepared = prepare_image(factory.oriented_jpeg(upright, 6), CLAUDE)
    assert prepared.height > prepared.width
    assert abs(prepared.width - 876) <= 1 and abs(prepared.height - 1313) <= 1
    assert (prepared.original_width, prepared.original_height) == (2000, 3000)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_rotated_images_in_other_formats_are_turned_too(orientation):
    upright = factory.upright_with_red_corner(90, 60)
    for image_format in ("PNG", "WEBP", "TIFF"):
        data = factory.encode(
            factory.as_stored(upright, orientation), image_format, exif=factory.exif_bytes(orientation)
        )
        output = decoded(prepare_image(data, SizePolicy(45)).data).convert("RGB")
        assert output.size == (45, 30), image_format
        assert is_reddish(output.getpixel((1, 1))), image_format


# --- metadata ---------------------------------------------------------------------------------


def test_no_exif_gps_comment_or_profile_leaves_the_server():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = factory.encode(
        factory.photo(300, 200),
        "JPEG",
        exif=factory.exif_bytes(1, gps=True, camera="SecretCam"),
        comment=b"secret comment",
        icc_profile=srgb,
        xmp=b"<x:xmpmeta>secret xmp</x:xmpmeta>",
    )
    prepared = prepare_image(data, SizePolicy(100))
    for output in (prepared.data, prepared.thumbnail):
        image = decoded(output)
        assert not image.getexif()
        assert not set(image.info) & {"exif", "comment", "icc_profile", "xmp"}
        for marker in (b"Exif", b"SecretCam", b"secret", b"ICC_PROFILE"):
            assert marker not in output


def test_png_text_chunks_and_webp_metadata_are_dropped():
    picture = factory.photo(200, 100).convert("RGBA")
    picture.putalpha(128)
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret text")
    data = factory.encode(picture, "PNG", pnginfo=text, exif=factory.exif_bytes(gps=True))
    prepared = prepare_image(data, SizePolicy(100))
    assert prepared.format == "WEBP"
    for marker in (b"EXIF", b"ICCP", b"XMP ", b"secret", b"FoxCam"):
        assert marker not in prepared.data


def test_colours_are_converted_to_srgb_through_an_embedded_profile_and_the_profile_dropped():
    tagged_red = Image.new("RGB", (40, 40), factory.RED)
    data = factory.encode(tagged_red, "JPEG", icc_profile=factory.swapped_primaries_profile())
    output = decoded(prepare_image(data, CLAUDE).data)
    assert "icc_profile" not in output.info
    assert is_bluish(output.convert("RGB").getpixel((20, 20)))


def test_colour_conversion_keeps_transparency():
    tagged_red = Image.new("RGBA", (40, 40), (255, 0, 0, 255))
    tagged_red.paste((255, 0, 0, 0), (0, 0, 20, 40))
    data = factory.encode(tagged_red, "PNG", icc_profile=factory.swapped_primaries_profile())
    output = decoded(prepare_image(data, CLAUDE).data).convert("RGBA")
    assert output.getpixel((5, 20))[3] == 0
    assert is_bluish(output.getpixel((35, 20))) and output.getpixel((35, 20))[3] == 255


def test_srgb_profile_leaves_colours_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = factory.encode(Image.new("RGB", (10, 10), (200, 100, 50)), "PNG", icc_profile=srgb)
    output = decoded(prepare_image(data, CLAUDE).data)
    assert "icc_profile" not in output.info
    assert all(abs(a - b) <= 8 for a, b in zip(output.convert("RGB").getpixel((5, 5)), (200, 100, 50), strict=True))


def test_a_broken_colour_profile_is_ignored_not_fatal():
    data = factory.encode(factory.photo(50, 50), "JPEG", icc_profile=b"not a profile at all" * 10)
    prepared = prepare_image(data, CLAUDE)
    assert "icc_profile" not in decoded(prepared.data).info


# --- pixels -----------------------------------------------------------------------------------


def test_transparent_areas_are_composited_onto_white_when_the_output_is_jpeg():
    hidden_red = Image.new("RGBA", (200, 200), (255, 0, 0, 0))
    hidden_red.paste((0, 0, 255, 255), (100, 0, 200, 200))
    prepared = prepare_image(factory.encode(hidden_red, "PNG"), CLAUDE)
    thumbnail = decoded(prepared.thumbnail)
    assert prepared.thumbnail_mime_type == "image/jpeg" and thumbnail.format == "JPEG"
    left = thumbnail.convert("RGB").getpixel((20, 100))
    assert min(left) > 240, left  # white, not the red hidden under alpha 0
    assert is_bluish(thumbnail.convert("RGB").getpixel((180, 100)))


def test_greyscale_with_alpha_is_composited_onto_white_in_the_thumbnail():
    grey = Image.new("LA", (100, 100), (0, 0))
    prepared = prepare_image(factory.encode(grey, "PNG"), CLAUDE)
    assert min(decoded(prepared.thumbnail).convert("RGB").getpixel((50, 50))) > 240


def test_hidden_colour_does_not_bleed_into_visible_edges_when_shrinking():
    picture = Image.new("RGBA", (400, 400), (255, 0, 0, 0))
    picture.paste((0, 0, 255, 255), (200, 0, 400, 400))
    output = decoded(prepare_image(factory.encode(picture, "PNG"), SizePolicy(100)).data).convert("RGBA")
    for x in range(output.width):
        red, _, blue, alpha = output.getpixel((x, 50))
        if alpha > 16:
            assert red < 60 and blue > 150, (x, output.getpixel((x, 50)))


def test_16_bit_images_are_scaled_not_clipped_to_white():
    mid_grey = Image.new("I;16", (40, 40), 32768)
    for image_format in ("PNG", "TIFF"):
        output = decoded(prepare_image(factory.encode(mid_grey, image_format), CLAUDE).data)
        assert 120 <= output.convert("L").getpixel((20, 20)) <= 136, image_format


@pytest.mark.parametrize(("mode", "value"), [("I", 32768), ("F", 0.5), ("F", 32768.0), ("I", 128)])
def test_wide_greyscale_modes_are_scaled_to_8_bits(mode, value):
    wide = Image.new(mode, (40, 40), value)
    wide.putpixel((0, 0), 65535 if value > 255 else value)  # the extremes tell the range
    output = decoded(prepare_image(factory.encode(wide, "TIFF"), CLAUDE).data)
    assert 120 <= output.convert("L").getpixel((20, 20)) <= 136


def test_palette_and_one_bit_images_are_resized_smoothly_not_with_nearest():
    stripes = Image.new("L", (400, 400), 0)
    for x in range(0, 400, 2):
        stripes.paste(255, (x, 0, x + 1, 400))
    for mode in ("1", "P"):
        data = factory.encode(stripes.convert(mode), "PNG")
        output = decoded(prepare_image(data, SizePolicy(100)).data).convert("L")
        assert 90 <= output.getpixel((50, 50)) <= 165, mode


def test_cmyk_becomes_rgb_with_the_right_colours():
    cyan = Image.new("CMYK", (40, 40), (255, 0, 0, 0))
    for image_format in ("JPEG", "TIFF"):
        output = decoded(prepare_image(factory.encode(cyan, image_format), CLAUDE).data).convert("RGB")
        red, green, blue = output.getpixel((20, 20))
        assert red < 60 and green > 200 and blue > 200, (image_format, (red, green, blue))


# --- what comes back --------------------------------------------------------------------------


def test_prepared_image_describes_itself():
    data = factory.encode(factory.photo(640, 480), "PNG")
    prepared = prepare_image(data, SizePolicy(320))
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert prepared.byte_size == len(prepared.data)
    assert prepared.data_uri.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(prepared.data_uri.split(",", 1)[1]) == prepared.data
    assert (prepared.original_format, prepared.original_bytes) == ("PNG", len(data))
    assert (prepared.original_width, prepared.original_height) == (640, 480)
    assert (prepared.width, prepared.height) == (320, 240)


def test_thumbnail_is_small(settings):
    settings.FOXWEB_THUMBNAIL_SIZE = 64
    thumbnail = decoded(prepare_image(factory.encode(factory.photo(640, 480), "JPEG"), CLAUDE).thumbnail)
    assert thumbnail.size == (64, 48)


def test_jpeg_quality_setting_is_used(settings):
    data = factory.encode(factory.photo(400, 300), "PNG")
    settings.FOXWEB_JPEG_QUALITY = 95
    high = prepare_image(data, CLAUDE).byte_size
    settings.FOXWEB_JPEG_QUALITY = 40
    assert prepare_image(data, CLAUDE).byte_size < high


def noisy_jpeg_source(width=600, height=400) -> bytes:
    """Random pixels: the worst case for JPEG, far larger than a photo of the same size."""
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), bytes(rng.randrange(256) for _ in range(width * height * 3)))
    return factory.encode(image, "PNG")


def test_a_photo_over_the_byte_budget_is_encoded_at_a_lower_quality(settings):
    data = noisy_jpeg_source()
    settings.FOXWEB_JPEG_MAX_BYTES = 0
    unlimited = prepare_image(data, CLAUDE)
    settings.FOXWEB_JPEG_MAX_BYTES = unlimited.byte_size * 3 // 4
    settings.FOXWEB_JPEG_MIN_QUALITY = 10
    budgeted = prepare_image(data, CLAUDE)
    assert budgeted.format == "JPEG"
    assert budgeted.byte_size <= settings.FOXWEB_JPEG_MAX_BYTES < unlimited.byte_size
    assert (budgeted.width, budgeted.height) == (unlimited.width, unlimited.height)


def test_the_quality_never_drops_below_the_floor(settings):
    data = noisy_jpeg_source()
    settings.FOXWEB_JPEG_MAX_BYTES = 1000  # unreachable
    settings.FOXWEB_JPEG_MIN_QUALITY = 60
    at_floor = prepare_image(data, CLAUDE)
    settings.FOXWEB_JPEG_MAX_BYTES = 0
    settings.FOXWEB_JPEG_QUALITY = 60
    assert prepare_image(data, CLAUDE).data == at_floor.data


def test_a_photo_within_the_budget_keeps_the_quality_setting(settings):
    data = factory.encode(factory.photo(400, 300), "PNG")
    settings.FOXWEB_JPEG_MAX_BYTES = 0
    plain = prepare_image(data, CLAUDE).data
    settings.FOXWEB_JPEG_MAX_BYTES = 250_000
    assert prepare_image(data, CLAUDE).data == plain


def test_same_image_gives_the_same_hash():
    data = factory.encode(factory.photo(100, 100), "PNG")
    assert prepare_image(data, CLAUDE).sha256 == prepare_image(data, CLAUDE).sha256


# --- refusals ---------------------------------------------------------------------------------


def test_empty_file_is_refused():
    with pytest.raises(ImageError, match="empty"):
        prepare_image(b"", CLAUDE)


def test_file_over_the_upload_limit_is_refused(settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 1024 * 1024
    data = factory.encode(factory.photo(1000, 1000), "PNG")
    assert len(data) > 1024 * 1024
    with pytest.raises(ImageError, match="larger than 1 MB"):
        prepare_image(data, CLAUDE)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "HEIF", "BMP"])
def test_truncated_files_are_refused(image_format):
    data = factory.encode(factory.photo(200, 200), image_format)
    with pytest.raises(ImageError) as raised:
        prepare_image(data[: len(data) // 2], CLAUDE)
    assert raised.value.user_message


def test_truncated_jpeg_that_passes_verify_is_still_refused():
    data = factory.encode(factory.photo(300, 300), "JPEG")[:-2000]
    Image.open(io.BytesIO(data)).verify()  # Pillow's verify() does not notice
    with pytest.raises(ImageError, match="damaged or incomplete"):
        prepare_image(data, CLAUDE)


def test_corrupt_data_behind_a_valid_signature_is_refused():
    data = factory.encode(factory.photo(100, 100), "JPEG")
    corrupt = data[:200] + bytes(len(data) - 200)
    with pytest.raises(ImageError):
        prepare_image(corrupt, CLAUDE)


@pytest.mark.parametrize(
    "data",
    [b"hello, this is text", b"\x00" * 100, b"PK\x03\x04" + b"\x00" * 100, b"GIF89a", b"\xff\xd8\xff"],
    ids=["text", "zeros", "zip", "gif-signature-only", "jpeg-signature-only"],
)
def test_non_images_are_refused(data):
    with pytest.raises(ImageError) as raised:
        prepare_image(data, CLAUDE)
    assert raised.value.user_message


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        b'<?xml version="1.0"?>\n<!-- a drawing -->\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    ],
)
def test_svg_is_refused_with_a_clear_message(data):
    with pytest.raises(ImageError, match="SVG"):
        prepare_image(data, CLAUDE)


def test_pdf_is_refused_with_a_clear_message():
    pdf = factory.encode(factory.photo(50, 50), "PDF")
    with pytest.raises(ImageError, match="PDF"):
        prepare_image(pdf, CLAUDE)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + factory.encode(factory.photo(50, 50), "JPEG"),
        factory.encode(factory.photo(50, 50), "JPEG", comment=b"%PDF-1.7 1 0 obj << >> endobj"),
        factory.encode(factory.photo(50, 50), "GIF", comment=b"<script>alert(1)</script>"),
        factory.encode(factory.photo(50, 50), "JPEG", comment=b"<html><body>hello</body></html>"),
    ],
    ids=["pdf-first", "jpeg-with-pdf-header", "gif-with-script", "jpeg-with-html"],
)
def test_polyglot_files_are_refused(data):
    with pytest.raises(ImageError):
        prepare_image(data, CLAUDE)


def test_huge_dimensions_are_refused_from_the_header_before_decoding(monkeypatch):
    decoded_anything = []
    original_load = ImageFile.ImageFile.load

    def spy(self):
        decoded_anything.append(self.size)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    for width, height in ((10_000, 7_000), (10_000, 10_000), (100_000, 100_000), (2**31 - 1, 2**31 - 1)):
        with pytest.raises(ImageError, match="too many pixels"):
            prepare_image(factory.png_header_only(width, height), CLAUDE)
    assert decoded_anything == []


def test_pixel_limit_is_a_setting(settings):
    settings.FOXWEB_MAX_IMAGE_PIXELS = 100 * 100
    prepare_image(factory.encode(factory.photo(100, 100), "PNG"), CLAUDE)
    with pytest.raises(ImageError, match=r"up to 10,000 pixels \(about 120 × 82\)"):
        prepare_image(factory.encode(factory.photo(101, 100), "PNG"), CLAUDE)


def test_the_pixel_limit_is_said_without_megapixels(settings):
    settings.FOXWEB_MAX_IMAGE_PIXELS = 60_000_000
    with pytest.raises(ImageError) as refused:
        prepare_image(factory.png_header_only(10_000, 7_000), CLAUDE)
    assert refused.value.user_message == (
        "The image has too many pixels: FoxWeb accepts up to 60 million pixels (about 9500 × 6300)."
    )


def test_image_errors_carry_a_plain_language_message():
    error = ImageError("The file is empty.")
    assert error.user_message == str(error) == "The file is empty."


# --- several images ---------------------------------------------------------------------------


def test_prepare_images_keeps_the_order_and_reports_bad_ones_in_place():
    good = [factory.encode(factory.photo(60 + step, 40), "PNG", optimize=False) for step in range(3)]
    results = prepare_images([good[0], b"broken", good[1], b"", good[2]], CLAUDE)
    assert [type(result).__name__ for result in results] == [
        "PreparedImage",
        "ImageError",
        "PreparedImage",
        "ImageError",
        "PreparedImage",
    ]
    assert [result.width for result in results[::2]] == [60, 61, 62]


def test_prepare_images_works_concurrently(monkeypatch):
    both_running = threading.Barrier(2, timeout=10)

    def waits_for_the_other(data, policy):
        both_running.wait()  # raises BrokenBarrierError if the images are prepared one by one
        return data

    monkeypatch.setattr(images, "_cpu_count", lambda: 2)
    monkeypatch.setattr(images, "prepare_image", waits_for_the_other)
    assert prepare_images([b"a", b"b"], CLAUDE) == [b"a", b"b"]


def test_prepare_images_refuses_more_than_the_per_task_limit(settings):
    settings.FOXWEB_MAX_IMAGES_PER_TASK = 2
    with pytest.raises(ImageError, match="At most 2 images"):
        prepare_images([b"a", b"b", b"c"], CLAUDE)


def test_prepare_images_of_nothing_is_nothing():
    assert prepare_images([], CLAUDE) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(28), "JPEG"),
        (b"\x89PNG\r\n\x1a\n" + bytes(24), "PNG"),
        (b"GIF89a" + bytes(26), "GIF"),
        (b"RIFF\0\0\0\0WEBPVP8 " + bytes(16), "WEBP"),
        (b"BM" + bytes(30), "BMP"),
        (b"II*\0" + bytes(28), "TIFF"),
        (b"\0\0\0\x18ftypheic" + bytes(20), "HEIF"),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_sniff_format_looks_at_the_first_bytes(data, expected):
    assert images.sniff_format(data) == expected


# --- How many images are decoded at once ---------------------------------------------------------

SMALL_POLICY = SizePolicy(100)


def test_the_number_of_decodes_at_once_follows_the_cores_unless_set(settings, monkeypatch):
    settings.FOXWEB_MAX_DECODES = 0
    monkeypatch.setattr(images, "_cpu_count", lambda: 2)
    assert images.max_decodes() == 2
    monkeypatch.setattr(images, "_cpu_count", lambda: 64)
    assert images.max_decodes() == images.MAX_WORKERS  # more would trade memory for little speed
    settings.FOXWEB_MAX_DECODES = 6
    assert images.max_decodes() == 6


def test_an_image_waits_for_a_slot_then_is_told_foxweb_is_busy(settings):
    settings.FOXWEB_MAX_DECODES = 1
    settings.FOXWEB_DECODE_WAIT_SECONDS = 0
    png = factory.encode(factory.photo(40, 30), "PNG")
    with images.decode_slot(), pytest.raises(ImageError) as refused:  # someone else is decoding
        prepare_image(png, SMALL_POLICY)
    assert refused.value.user_message == "FoxWeb is busy preparing other images, try again in a moment."
    assert prepare_image(png, SMALL_POLICY).width == 40  # the slot is free again


def test_no_more_than_the_limit_are_decoded_at_once(settings, monkeypatch):
    settings.FOXWEB_MAX_DECODES = 2
    settings.FOXWEB_DECODE_WAIT_SECONDS = 0
    inside = threading.Semaphore(0)
    gate = threading.Event()
    real_decode = images._decode

    def held_decode(*args, **kwargs):
        inside.release()
        assert gate.wait(5)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(images, "_decode", held_decode)
    png = factory.encode(factory.photo(40, 30), "PNG")
    results = []
    workers = [threading.Thread(target=lambda: results.append(prepare_image(png, SMALL_POLICY))) for _ in range(2)]
    for worker in workers:
        worker.start()
    assert inside.acquire(timeout=5) and inside.acquire(timeout=5)  # two images are being decoded
    with pytest.raises(ImageError, match="busy"):
        prepare_image(png, SMALL_POLICY)  # a third has to wait (here: not at all) and is turned away
    gate.set()
    for worker in workers:
        worker.join(5)
    assert [result.width for result in results] == [40, 40]
    monkeypatch.setattr(images, "_decode", real_decode)
    assert prepare_image(png, SMALL_POLICY).width == 40


def test_a_damaged_image_gives_its_slot_back(settings):
    settings.FOXWEB_MAX_DECODES = 1
    settings.FOXWEB_DECODE_WAIT_SECONDS = 0
    png = factory.encode(factory.photo(40, 30), "PNG")
    with pytest.raises(ImageError, match="damaged or incomplete"):
        prepare_image(png[: len(png) // 2], SMALL_POLICY)
    assert prepare_image(png, SMALL_POLICY).width == 40
