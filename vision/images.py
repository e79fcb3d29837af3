"""FoxWeb's image pipeline: any accepted image in, a small clean copy for a vision model out.

Every image is checked by its content (never its name or the browser's MIME type), opened with
an explicit allow-list of formats, decoded completely, shrunk to the chosen model's size policy,
turned the right way up, converted to sRGB and re-encoded without any metadata.

Output format, decided on the prepared pixels:

- PNG for line art: palette or 1-bit sources (GIFs, diagrams) and images with at most 256
  colours after resizing, where JPEG would smear edges and PNG compresses better anyway;
- WebP (lossy, alpha kept) for other images with real transparency: PNG of a transparent
  photograph is several times larger, and JPEG would have to invent a background;
- JPEG at ``FOXWEB_JPEG_QUALITY`` for everything else, i.e. photographs.

Thumbnails for the history pages are always JPEG, transparency composited onto white (the page
colour), so they stay small whatever the source was.

Speed and memory: JPEGs are decoded straight at 1/2, 1/4 or 1/8 scale (``Image.draft``) when the
target size allows, other formats are shrunk by reduce() and then LANCZOS, EXIF orientation is
applied to the small image, and the few conversions that must happen at full size (palette, 1-bit
and 16-bit sources) happen before the resize. Several images are prepared in threads; decoding in
one call and encoding into a real file keep Pillow from holding the GIL, so they really run side by
side. bench/intake.py measures all of this against a naive pipeline and pyvips.

Limits (settings, read at call time): FOXWEB_MAX_UPLOAD_BYTES, FOXWEB_MAX_IMAGE_PIXELS (checked
from the header, before decoding), FOXWEB_MAX_IMAGES_PER_TASK, FOXWEB_JPEG_QUALITY,
FOXWEB_THUMBNAIL_SIZE. The size policy for each model comes from the model catalogue (vision/catalog.py).

Memory: at most max_decodes() images are decoded at once in a process (FOXWEB_MAX_DECODES, by
default one per core up to four); others wait up to FOXWEB_DECODE_WAIT_SECONDS for a slot, then
get a plain "busy" ImageError. bench/memory.py measures a server under fifty huge uploads.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import io
import logging
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import IO

import pillow_heif
from django.conf import settings
from PIL import Image, ImageCms, JpegImagePlugin, UnidentifiedImageError

logger = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

# Pillow's format names; HEIF covers .heic and .heif through pillow-heif.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF")
FORMAT_NAMES = "JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC"
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

LINE_ART_COLOURS = 256
# libwebp's defaults (method 4, lossless alpha) take 2.5 times as long for 12 % fewer bytes.
WEBP_OPTIONS = {"method": 1, "alpha_quality": 90}
THUMBNAIL_QUALITY = 80
MAX_WORKERS = 4  # each worker may hold a decoded image; more would trade memory for little speed
WHITE = (255, 255, 255)
# Shrink by the largest whole factor with reduce() (a box filter) and leave under 2x to LANCZOS: what
# Image.draft() does for JPEGs, about as sharp (PSNR 37-45 dB against LANCZOS all the way) and several
# times faster on a 12 MP PNG.
REDUCING_GAP = 1.0
STRIP_ROWS = 256  # rows of reduced output per strip when shrinking images with alpha

# Where EXIF says the camera was held sideways: the transpose that makes the image upright.
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
EXIF_ORIENTATION = 0x0112

# Markers that make a file something else besides an image (a PDF reader looks for its header
# anywhere in the first kilobyte; browsers sniff markup there): refused even if the image is valid.
POLYGLOT_MARKERS = (b"%pdf-", b"<svg", b"<html", b"<script", b"<!doctype", b"<?xml")


BUSY = "FoxWeb is busy preparing other images, try again in a moment."


class ImageError(Exception):
    """An image FoxWeb cannot use; ``user_message`` says why in words safe to show to staff."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class SizePolicy:
    """How large an image a model gets, as data. Any of three limits, all of which the image must meet:

    - ``long_edge``: the longest side, in pixels;
    - ``max_pixels``: width times height;
    - ``max_patches`` squares of ``patch`` pixels that cover the image (``ceil(w / patch) * ceil(h / patch)``):
      how models that cut images into patches or tiles count them (GPT-5's 32-px patches, Gemini's 768-px tiles).
    """

    long_edge: int | None = None
    max_pixels: int | None = None
    patch: int | None = None
    max_patches: int | None = None

    def __post_init__(self):
        for name in ("long_edge", "max_pixels", "patch", "max_patches"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        if (self.patch is None) != (self.max_patches is None):
            raise ValueError("patch and max_patches go together: give both or neither")
        if self.long_edge is None and self.max_pixels is None and self.max_patches is None:
            raise ValueError("a size policy needs at least one limit: long_edge, max_pixels or patch and max_patches")

    def patches(self, width: int, height: int) -> int:
        """How many of this policy's patches cover an image of this size."""
        if self.patch is None:
            raise ValueError("this policy counts no patches")
        return math.ceil(width / self.patch) * math.ceil(height / self.patch)

    def fits(self, width: int, height: int) -> bool:
        """Whether an image of this size is within every limit."""
        return (
            (self.long_edge is None or max(width, height) <= self.long_edge)
            and (self.max_pixels is None or width * height <= self.max_pixels)
            and (self.max_patches is None or self.patches(width, height) <= self.max_patches)
        )


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send: the encoded bytes with what the history pages show about it."""

    data: bytes
    mime_type: str
    format: str
    width: int
    height: int
    original_format: str
    original_width: int
    original_height: int
    original_bytes: int
    thumbnail: bytes
    thumbnail_mime_type: str
    sha256: str

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def byte_size(self) -> int:
        return len(self.data)


def target_size(size: tuple[int, int], policy: SizePolicy) -> tuple[int, int]:
    """The largest size within the policy with the same aspect ratio; never larger than ``size``."""
    width, height = size
    scale = 1.0
    if policy.long_edge:
        scale = min(scale, policy.long_edge / max(width, height))
    if policy.max_pixels:
        scale = min(scale, math.sqrt(policy.max_pixels / (width * height)))
    if policy.max_patches:
        scale = _patch_scale(size, scale, policy)
    if scale >= 1:
        return size
    new = _scaled(size, scale)
    if policy.max_pixels and new[0] * new[1] > policy.max_pixels:
        # Rounding up both sides can overshoot the pixel budget by a few hundred pixels.
        new = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    if policy.long_edge:
        new = (min(new[0], policy.long_edge), min(new[1], policy.long_edge))
    return new


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))


def _patch_scale(size: tuple[int, int], scale: float, policy: SizePolicy) -> float:
    """The largest scale, at most ``scale``, whose rounded size is covered by at most max_patches patches.

    The patch count only grows with the scale, one step each time a side passes a multiple of the patch
    size; so the answer is ``scale`` itself or a scale that puts one side exactly on a patch boundary.
    """

    def covered(candidate: float) -> bool:
        return policy.patches(*_scaled(size, candidate)) <= policy.max_patches

    if covered(scale):
        return scale
    patch = policy.patch
    boundaries = {patch * count / side for side in size for count in range(1, math.ceil(side * scale / patch) + 1)}
    below = sorted((candidate for candidate in boundaries if candidate < scale), reverse=True)
    return next((candidate for candidate in below if covered(candidate)), min(boundaries))


def prepare_image(data: bytes, policy: SizePolicy) -> PreparedImage:
    """Check, shrink, orient, clean and re-encode one image for a model; raises ImageError."""
    _check_bytes(data)
    try:
        return _prepare(data, policy)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own limit (Image.MAX_IMAGE_PIXELS, left as it is) stays a second line of defence
        # behind FOXWEB_MAX_IMAGE_PIXELS, which is checked from the header first. Its warning is
        # raised as an error wherever warnings are errors (as in the tests), and refused here too.
        raise ImageError(_too_many_pixels_message()) from error
    except Exception as error:  # Pillow's decoders raise many kinds; all mean "cannot read this".
        logger.info("image could not be prepared: %r", error)
        raise ImageError("The image file is damaged or incomplete, so FoxWeb cannot read it.") from error


def prepare_images(items: list[bytes], policy: SizePolicy) -> list[PreparedImage | ImageError]:
    """Prepare the images of one submission concurrently; results (or errors) in the same order.

    Raises ImageError if there are more than FOXWEB_MAX_IMAGES_PER_TASK images.
    """
    limit = settings.FOXWEB_MAX_IMAGES_PER_TASK
    if len(items) > limit:
        raise ImageError(f"At most {limit} images can be described at once; there are {len(items)}.")
    if not items:
        return []

    def one(data: bytes) -> PreparedImage | ImageError:
        try:
            return prepare_image(data, policy)
        except ImageError as error:
            return error

    if len(items) == 1:
        return [one(items[0])]
    # Pillow releases the GIL while decoding, resizing and encoding, so threads use every core.
    with ThreadPoolExecutor(max_workers=min(len(items), _cpu_count(), MAX_WORKERS)) as pool:
        return list(pool.map(one, items))


M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter


def keep_large_allocations_returnable() -> None:
    """Have glibc map every allocation of 1 MB or more (decoded pixels, Pillow's blocks) on its own,
    so that the memory goes back to the system as soon as the image is freed.

    By default glibc raises its mmap threshold to the size of the first large block freed, then
    serves later images from its heaps, where freed pixels often stay resident: a server bounded to
    two decodes at once was measured at 855 MB instead of 477 MB (bench/memory.py). A no-op where
    the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):
        pass


def max_decodes() -> int:
    """How many images this process decodes at once: FOXWEB_MAX_DECODES, or by default one per
    core, at most MAX_WORKERS."""
    configured = int(settings.FOXWEB_MAX_DECODES)
    return configured if configured > 0 else max(1, min(_cpu_count(), MAX_WORKERS))


@cache
def _decode_slots(limit: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(limit)


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of the process's max_decodes() decoding slots; raises ImageError (busy) if none
    comes free within FOXWEB_DECODE_WAIT_SECONDS."""
    slots = _decode_slots(max_decodes())
    if not slots.acquire(timeout=float(settings.FOXWEB_DECODE_WAIT_SECONDS)):
        raise ImageError(BUSY)
    try:
        yield
    finally:
        slots.release()


def sniff_format(data: bytes) -> str | None:
    """The accepted format these bytes start like (e.g. "JPEG"), or None; a cheap first check."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"
    ):  # fmt: skip
        return "HEIF"
    return None


def _check_bytes(data: bytes) -> None:
    if not data:
        raise ImageError("The file is empty.")
    limit = settings.FOXWEB_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise ImageError(f"The file is larger than {describe_bytes(limit)}.")
    head = data[:1024].lower()
    if b"%pdf-" in head:
        raise ImageError("PDF documents are not accepted. Export the page as PNG or JPEG and upload that.")
    if b"<svg" in head or (head.lstrip().startswith((b"<?xml", b"\xef\xbb\xbf<?xml")) and b"<svg" in data[:8192]):
        raise ImageError("SVG drawings are not accepted. Export the drawing as PNG and upload that.")
    if any(marker in head for marker in POLYGLOT_MARKERS):
        raise ImageError(f"This file is not only an image. Save it again as {FORMAT_NAMES} and upload that.")


def describe_bytes(count: int) -> str:
    """A byte count as people say it: "25 MB", "500 KB"."""
    if count >= 1024 * 1024:
        return f"{round(count / (1024 * 1024), 1):g} MB"
    if count >= 1024:
        return f"{round(count / 1024, 1):g} KB"
    return f"{count} bytes"


def _too_many_pixels_message() -> str:
    """In words people use: "60 million pixels (about 9500 × 6300)", not megapixels."""
    limit = settings.FOXWEB_MAX_IMAGE_PIXELS
    amount = f"{limit / 1_000_000:g} million" if limit >= 1_000_000 else f"{limit:,}"
    width = math.sqrt(limit * 3 / 2)  # a 3:2 photo of that many pixels
    example = f"{_two_figures(width)} × {_two_figures(width * 2 / 3)}"
    return f"The image has too many pixels: FoxWeb accepts up to {amount} pixels (about {example})."


def _two_figures(number: float) -> int:
    return int(round(number, 2 - len(str(int(number)))))


def _prepare(data: bytes, policy: SizePolicy) -> PreparedImage:
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise ImageError(f"This file is not an image FoxWeb can read. Use {FORMAT_NAMES}.") from None
    # Closed only once prepared: close() frees the pixels that _decode() works on.
    # Phones write MPO (a JPEG followed by more pictures); to everyone but Pillow it is a JPEG.
    original_format = "JPEG" if isinstance(image, JpegImagePlugin.JpegImageFile) else image.format or "?"
    width, height = image.size
    # Refuse from the header alone, before any pixel is decoded.
    if width < 1 or height < 1:
        raise ImageError("The image has no pixels.")
    if width * height > settings.FOXWEB_MAX_IMAGE_PIXELS:
        raise ImageError(_too_many_pixels_message())
    if original_format == "JPEG":
        # Decode at the smallest DCT scale still at least the target size; thumbnail() would ask
        # for box * reducing_gap and rarely get any scaling. The box is in stored pixels, so for
        # EXIF orientations 5-8 it is the target turned sideways.
        before = _orientation(image)
        image.draft(image.mode, _stored(target_size(_shown((width, height), before), policy), before))
    # Only a few images are decoded at once: a decoded image takes 4 bytes a pixel (a 49-megapixel
    # PNG of 140 KB becomes 196 MB), so fifty at once would take gigabytes.
    with decode_slot():
        try:
            return _decode(image, data, policy, original_format, (width, height))
        finally:
            image.close()  # frees the decoded pixels before the slot goes to the next image


def _decode(
    image: Image.Image, data: bytes, policy: SizePolicy, original_format: str, size: tuple[int, int]
) -> PreparedImage:
    width, height = size
    # One decode call for the whole file: the GIL is released once instead of every 64 KB, so threads
    # preparing other images are not stalled waiting for it.
    image.decodermaxblock = max(image.decodermaxblock, len(data))
    image.load()  # decodes everything: truncated files fail here
    # Read after loading: a PNG may keep its EXIF after the pixels (asking earlier would decode it
    # outside this order), and Pillow's TIFF plugin turns the image upright itself while loading,
    # reporting the upright size from the start and dropping the tag.
    orientation = _orientation(image)
    shown_size = _shown((width, height), orientation)
    stored_target = _stored(target_size(shown_size, policy), orientation)
    source_mode = image.mode
    icc_profile = image.info.get("icc_profile")
    pixels = _resizable(image)

    if pixels.size != stored_target:
        pixels = _shrink(pixels, stored_target)
    pixels = _to_srgb(pixels, icc_profile)
    if orientation in ORIENTATION_TRANSPOSE:
        pixels = pixels.transpose(ORIENTATION_TRANSPOSE[orientation])

    encoded, out_format = _encode(pixels, line_art_source=source_mode in ("1", "P", "PA"))
    thumbnail = _thumbnail(pixels)
    return PreparedImage(
        data=encoded,
        mime_type=MIME_TYPES[out_format],
        format=out_format,
        width=pixels.width,
        height=pixels.height,
        original_format=original_format,
        original_width=shown_size[0],
        original_height=shown_size[1],
        original_bytes=len(data),
        thumbnail=thumbnail,
        thumbnail_mime_type="image/jpeg",
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _shown(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size as displayed: EXIF orientations 5-8 mean the camera stored it sideways."""
    return (size[1], size[0]) if orientation >= 5 else size


_stored = _shown  # swapping back is the same swap


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block only costs us the orientation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _resizable(image: Image.Image) -> Image.Image:
    """The image in a mode that resizes smoothly: L, LA, RGB, RGBA or CMYK (converted after resizing)."""
    if image.mode == "1":  # 1-bit resizes with NEAREST; its 0/255 pixels are greyscale already
        grey = image.convert("L")
        if "transparency" in image.info:
            grey.info["transparency"] = image.info["transparency"]
        image = grey
    mode = image.mode
    if mode in ("P", "PA") or (mode in ("L", "RGB") and "transparency" in image.info):
        # Palette images resize with NEAREST unless converted first; a transparent colour becomes alpha.
        if image.has_transparency_data:
            return image.convert("LA" if mode == "L" else "RGBA")
        return image.convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _to_eight_bit(image)
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if mode in ("La", "RGBa"):
        return image.convert(mode.replace("a", "A"))
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit or float greyscale to 8 bits; a plain convert() clips everything above 255 to white."""
    wide = image if image.mode in ("I", "F") else image.convert("I")
    high = 65535 if image.mode.startswith("I;16") else wide.getextrema()[1]
    if image.mode == "F" and high <= 1.0:
        top: float = 1.0  # floats from 0 to 1
    elif high <= 255:
        top = 255  # already 8-bit values
    else:
        top = 65535 if high <= 65535 else high
    if top != 255:
        wide = wide.point(lambda value: value * (255 / top))
    return wide.convert("L")


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert through the embedded ICC profile to sRGB (CMYK always to RGB); the profile is then dropped."""
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if image.mode == "CMYK" or "srgb" not in ImageCms.getProfileDescription(profile).lower():
                return ImageCms.profileToProfile(
                    image, profile, _srgb_profile(), outputMode="RGB" if image.mode == "CMYK" else image.mode
                )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as error:
            logger.info("ignoring unusable ICC profile: %r", error)
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize down: reduce() by the largest whole factor that leaves LANCZOS under 2x, then LANCZOS.

    Images with alpha are shrunk premultiplied, or a transparent pixel's hidden colour would bleed into
    its visible neighbours. Pillow would premultiply a copy of the whole image; here it happens a strip
    at a time, which saves that copy's memory and about a tenth of the time.
    """
    factor = (
        max(1, int(image.width / size[0] / REDUCING_GAP)),
        max(1, int(image.height / size[1] / REDUCING_GAP)),
    )
    if image.mode not in ("LA", "RGBA") or factor == (1, 1):
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    premultiplied = {"LA": "La", "RGBA": "RGBa"}[image.mode]
    columns, rows = factor
    reduced = Image.new(premultiplied, (-(-image.width // columns), -(-image.height // rows)))
    step = rows * STRIP_ROWS
    for top in range(0, image.height, step):
        strip = image.crop((0, top, image.width, min(top + step, image.height))).convert(premultiplied)
        reduced.paste(strip.reduce(factor), (0, top // rows))
    # The box leaves out the part of a pixel that reduce() made from an incomplete block at the edge.
    box = (0, 0, image.width / columns, image.height / rows)
    return reduced.resize(size, Image.Resampling.LANCZOS, box=box).convert(image.mode)


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("LA", "RGBA") and image.getchannel("A").getextrema()[0] < 255


def _encode(image: Image.Image, *, line_art_source: bool) -> tuple[bytes, str]:
    transparent = _has_transparency(image)
    if not transparent and image.mode in ("LA", "RGBA"):
        image = image.convert(image.mode[:-1])  # every pixel is opaque: nothing to composite
    line_art = line_art_source or (image.mode != "L" and image.getcolors(LINE_ART_COLOURS) is not None)
    if line_art:
        return _save(image, "PNG"), "PNG"
    if transparent:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        return _save(rgba, "WEBP", quality=_quality(), **WEBP_OPTIONS), "WEBP"
    return _save_jpeg(image), "JPEG"


def _save_jpeg(image: Image.Image) -> bytes:
    """JPEG at FOXWEB_JPEG_QUALITY, unless that exceeds FOXWEB_JPEG_MAX_BYTES.

    A very detailed photo at quality 85 can take 400 KB at the Claude size; it is then encoded
    again at the quality estimated to fit (bytes fall by about 2.3 % per quality step in this
    range), never below FOXWEB_JPEG_MIN_QUALITY. Most photos fit first time and cost nothing more.
    """
    quality = _quality()
    data = _save(image, "JPEG", quality=quality)
    budget = int(settings.FOXWEB_JPEG_MAX_BYTES)
    floor = min(int(settings.FOXWEB_JPEG_MIN_QUALITY), quality)
    for _ in range(3):
        if not budget or len(data) <= budget or quality <= floor:
            break
        steps = math.ceil((len(data) - budget) / (0.023 * len(data)))
        quality = max(floor, quality - max(steps, 2))
        data = _save(image, "JPEG", quality=quality)
    return data


def _thumbnail(image: Image.Image) -> bytes:
    size = target_size(image.size, SizePolicy(settings.FOXWEB_THUMBNAIL_SIZE))
    if size == image.size:
        small = image
    elif image.mode in ("LA", "RGBA"):
        small = _shrink(image, size)  # premultiplied, so hidden colours stay hidden
    else:
        # A thumbnail is seen at a few hundred pixels: BICUBIC after reduce() is indistinguishable
        # there from LANCZOS, at half the cost.
        small = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)
    return _save(_flatten(small), "JPEG", quality=THUMBNAIL_QUALITY)


def _flatten(image: Image.Image) -> Image.Image:
    """Composite transparency onto white for formats without alpha; a plain convert reveals hidden pixels."""
    if image.mode not in ("LA", "RGBA"):
        return image
    background = Image.new(image.mode[:-1], image.size, WHITE[: len(image.mode) - 1])
    background.paste(image, mask=image)  # an RGBA or LA mask means "use its alpha"
    return background


def _save(image: Image.Image, image_format: str, **options) -> bytes:
    image.info = {}  # only the pixels leave the server: no EXIF, GPS, ICC profile, comments or XMP
    # Pillow releases the GIL while encoding only when it writes to a real file descriptor; into a
    # BytesIO it holds the GIL throughout, and concurrent preparation of several images stalls.
    with _scratch_file() as handle:
        image.save(handle, image_format, **options)
        handle.seek(0)
        return handle.read()


def _scratch_file() -> IO[bytes]:
    if hasattr(os, "memfd_create"):  # Linux: a file that lives in memory only
        return open(os.memfd_create("foxweb-image"), "w+b")
    return tempfile.TemporaryFile()


def _quality() -> int:
    return int(settings.FOXWEB_JPEG_QUALITY)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
