"""Small images made in memory for the image and fetch tests (never the benchmark photographs)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

import vision.images  # noqa: F401  (registers the HEIF opener with Pillow)

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREEN = (0, 160, 0)

# The inverse of each EXIF orientation: applied to an upright picture, it gives the pixels a camera
# stores together with that orientation tag.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A noisy RGB picture with far more than 256 colours, which the pipeline treats as a photograph."""
    rng = random.Random(seed)
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return Image.blend(base, noise, 0.3)


def upright_with_red_corner(width: int, height: int) -> Image.Image:
    """A blue picture, as it should be displayed, with a red block in its top-left corner."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 4, height // 4))
    return image


def exif_bytes(orientation: int = 1, *, gps: bool = False, camera: str = "FoxCam") -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = camera
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.5), 3: "E", 4: (2.0, 17.0, 40.2)})
    return exif.tobytes()


def as_stored(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for ``upright`` when it writes ``orientation`` into EXIF."""
    transpose = STORE_FOR_ORIENTATION[orientation]
    return upright if transpose is None else upright.transpose(transpose)


def oriented_jpeg(upright: Image.Image, orientation: int, **options) -> bytes:
    return encode(as_stored(upright, orientation), "JPEG", exif=exif_bytes(orientation), **options)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but whose data is tiny: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def in_mode(mode: str, width: int, height: int) -> Image.Image:
    """A small picture in any Pillow mode the intake must handle, with something to see in it."""
    picture = upright_with_red_corner(width, height)
    if mode == "RGB":
        return picture
    if mode == "RGBA":
        rgba = picture.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize((width, height)))
        return rgba
    if mode == "LA":
        return picture.convert("LA")
    if mode in ("1", "L", "CMYK"):
        return picture.convert(mode)
    if mode == "P":
        return picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    if mode == "P+transparency":
        palette = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
        palette.info["transparency"] = palette.getpixel((0, 0))
        return palette
    if mode == "I;16":
        return Image.linear_gradient("L").resize((width, height)).convert("I").point(lambda v: v * 257).convert("I;16")
    raise ValueError(mode)


def saved_in_mode(mode: str, width: int, height: int, orientation: int = 1) -> bytes:
    """``in_mode`` stored sideways for ``orientation``, in a format that keeps that mode and EXIF."""
    image = as_stored(in_mode(mode, width, height), orientation)
    if mode == "P+transparency":
        image.info["transparency"] = in_mode(mode, width, height).info["transparency"]
    if mode == "CMYK":
        return encode(image, "JPEG", exif=exif_bytes(orientation))
    if mode == "I;16":
        return encode(image, "TIFF", exif=exif_bytes(orientation))
    return encode(image, "PNG", exif=exif_bytes(orientation))


def swapped_primaries_profile() -> bytes:
    """A valid RGB ICC profile that is not sRGB: sRGB with its red and blue primaries swapped.

    Pure red pixels tagged with it are pure blue in sRGB, so a conversion is easy to see.
    """
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack_from(">I", profile, 128)[0]
    entries = {}
    for index in range(count):
        signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * index)
        entries[signature] = (index, offset, size)
    (red_index, *red), (blue_index, *blue) = entries[b"rXYZ"], entries[b"bXYZ"]
    struct.pack_into(">4sII", profile, 132 + 12 * red_index, b"rXYZ", *blue)
    struct.pack_into(">4sII", profile, 132 + 12 * blue_index, b"bXYZ", *red)
    return bytes(profile).replace(b"sRGB", b"swap").replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))
