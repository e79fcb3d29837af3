"""Batch intake: many images at once, from a ZIP file or from a list of image addresses (a CSV or pasted).

Each way in is checked like a single upload (content, size, pixels) and says what was wrong with each
file or row in plain words, keeping every good one. Nothing here decodes a whole image or fetches an
address: the worker does that later, with images.prepare_image and fetch.fetch_image.

ZIP files (``read_zip``). The archive is read where it is (an uploaded file, a file on disk), one
member at a time: ``ZipItem.open()`` streams a member's bytes out of the archive, ``read()`` returns
one member's bytes, so at most one image is in memory per reader, never the whole archive. Bounded:

- the central directory, measured from the end record before Python's zipfile parses it, so a ZIP
  listing millions of entries is refused before they take memory;
- the number of images (``limit``, FOXWEB_MAX_IMAGES_PER_BATCH): the rest are skipped and counted;
- the total unpacked size (FOXWEB_MAX_ZIP_BYTES) and each member's size (FOXWEB_MAX_UPLOAD_BYTES),
  from the headers first, then again while reading, as a header can lie;
- the compression ratio: a member that unpacks to more than ZIP_BOMB_MIN_BYTES at more than
  ZIP_BOMB_RATIO:1 is refused (photographs barely compress at all);
- compression methods: only stored and deflated members are read. Python unpacks bzip2 and LZMA
  members without a cap on the output of each step, so a few kilobytes of bzip2 could become
  gigabytes in memory before any check; every common ZIP tool writes deflate.

A member's name is the path inside the archive ("summer/shoes/red.jpg"), cleaned of backslashes,
drive letters, leading slashes and control characters. It is a label only, never a path on disk;
members whose names climb out with ".." are refused. Folders, __MACOSX, dotfiles and Windows'
Thumbs.db and desktop.ini are skipped silently. Each member's first bytes must be an accepted image
format (images.sniff_format and the same content checks as uploads), and its pixel count is read
from its header by Pillow without decoding the pixels.

Lists of addresses (``read_url_list``): a pasted list (one address per line) or a CSV file. A CSV
header names its columns, in any case and with common synonyms (see COLUMNS); without a header the
first column holding an address is used. UTF-8 with or without a byte-order mark, UTF-16 with one
(Excel's "Unicode text"), else Windows-1252; comma, semicolon or tab delimited (an Excel "sep=" line
is obeyed); quoted fields may hold line breaks. Every address is checked by fetch.check_url, without
touching the network. Row numbers in problems are those a spreadsheet shows: the header is row 1.
Bounded: the input at FOXWEB_MAX_LIST_BYTES, the rows taken at ``limit``, the rows checked at ten times
that (at least MIN_EXAMINED_ROWS; later rows are only counted) and the problems listed one by one at
MAX_LISTED_PROBLEMS.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from PIL import Image

from vision import fetch, images

logger = logging.getLogger(__name__)


class IntakeError(Exception):
    """A whole ZIP or list FoxWeb cannot use; ``user_message`` says why in words safe to show to staff."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class Problem:
    """What was wrong with one file or row, or with the batch as a whole (``where`` empty).

    ``where`` names the file ("summer/notes.txt") or row ("Row 14"). ``kept`` is True for notes about
    something that was still taken (a repeated address, shortened context); otherwise it was left out.
    """

    where: str
    message: str
    kept: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


# --- ZIP files --------------------------------------------------------------------------------

HEAD_BYTES = 64 * 1024  # enough for the header of nearly every image; more is read only if Pillow needs it
READ_CHUNK = 1024 * 1024
ZIP_BOMB_RATIO = 100
ZIP_BOMB_MIN_BYTES = 5 * 1024 * 1024
MIN_ZIP_ENTRIES = 20_000  # the entry cap is this or four per image allowed, whichever is more
CENTRAL_DIRECTORY_BYTES_PER_ENTRY = 300  # a 46-byte record, a path of up to ~200 characters, extras
MAX_NAME_CHARS = 255
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
ENCRYPTED = 0x1
JUNK_FILES = {"thumbs.db", "desktop.ini"}
ARCHIVE_EXTENSIONS = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".cab")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
DRIVE = re.compile(r"^[A-Za-z]:")
# Control characters, and the invisible ones that change how text around them reads: soft hyphen,
# zero-width characters, direction marks and overrides, word joiners, byte-order mark.
INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)

END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_END = b"PK\x06\x06"

NOT_A_ZIP = "This file is not a ZIP archive, or it is damaged, so FoxWeb cannot open it."
DAMAGED_MEMBER = "The file is damaged inside the ZIP, so FoxWeb cannot read it."
DAMAGED_IMAGE = "The image file is damaged or incomplete, so FoxWeb cannot read it."
NESTED = "Archives inside the ZIP are not opened. Put their images in the main ZIP instead."


@dataclass(frozen=True, eq=False)
class ZipItem:
    """One image in a ZIP, checked from its header: its label, unpacked size, format and pixel size.

    ``name`` is the member's cleaned path inside the archive, for people to read; never a path on disk.
    The bytes stay in the archive until ``open()`` or ``read()`` asks for them, which works while the
    ZipIntake is open; several members may be read at once from different threads.
    """

    name: str
    size: int
    format: str
    width: int
    height: int
    _archive: zipfile.ZipFile = field(repr=False)
    _member: zipfile.ZipInfo = field(repr=False)

    def open(self) -> IO[bytes]:
        """The member's bytes as a stream, unpacked as they are read; raises IntakeError past the size limit."""
        return _open_member(self._archive, self._member, self.name)

    def read(self) -> bytes:
        """The member's bytes (one image in memory, at most FOXWEB_MAX_UPLOAD_BYTES); raises IntakeError."""
        with self.open() as stream:
            return stream.read()


@dataclass
class ZipIntake:
    """The images found in a ZIP and what was wrong with the other members; close() when done reading."""

    items: list[ZipItem]
    problems: list[Problem]
    _archive: zipfile.ZipFile | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    def __enter__(self) -> ZipIntake:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def read_zip(fileobj: IO[bytes] | str | os.PathLike, *, limit: int | None = None) -> ZipIntake:
    """List and check the images in a ZIP (a seekable binary file or a path) without unpacking them all.

    Raises IntakeError if the file is not a readable ZIP or lists too many entries; problems with single
    members are in the result. ``limit`` is the most images taken (default FOXWEB_MAX_IMAGES_PER_BATCH).
    """
    limit = int(settings.FOXWEB_MAX_IMAGES_PER_BATCH) if limit is None else limit
    max_entries = max(MIN_ZIP_ENTRIES, 4 * limit)
    if isinstance(fileobj, str | os.PathLike):
        with open(fileobj, "rb") as handle:
            _check_central_directory(handle, max_entries)
    else:
        _check_central_directory(fileobj, max_entries)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        logger.info("not a readable ZIP: %r", error)
        raise IntakeError(NOT_A_ZIP) from None
    members = archive.infolist()
    if len(members) > max_entries:
        archive.close()
        raise IntakeError(_too_many_entries(len(members), max_entries))
    try:
        items, problems = _check_members(archive, members, limit)
    except BaseException:
        archive.close()
        raise
    return ZipIntake(items=items, problems=problems, _archive=archive)


def _check_members(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], limit: int
) -> tuple[list[ZipItem], list[Problem]]:
    max_bytes = int(settings.FOXWEB_MAX_UPLOAD_BYTES)
    max_total = int(settings.FOXWEB_MAX_ZIP_BYTES)
    items: list[ZipItem] = []
    problems: list[Problem] = []
    total = over_count = over_total = 0
    for member in members:
        name, refusal = _member_name(member.filename)
        if refusal:
            problems.append(Problem(name, refusal))
            continue
        if name is None:
            continue  # a folder, macOS or Windows bookkeeping, a hidden file: nobody meant to send it
        if name.lower().endswith(ARCHIVE_EXTENSIONS):
            problems.append(Problem(name, NESTED))
            continue
        if len(items) >= limit:
            over_count += 1
            continue
        if over_total or total + member.file_size > max_total:
            over_total += 1
            continue
        refusal = _header_refusal(member, max_bytes)
        if refusal:
            problems.append(Problem(name, refusal))
            continue
        try:
            image_format, width, height = _inspect(archive, member, name)
        except (IntakeError, images.ImageError) as error:
            problems.append(Problem(name, error.user_message))
            continue
        items.append(ZipItem(name, member.file_size, image_format, width, height, archive, member))
        total += member.file_size
    if over_count:
        more = "1 more file was" if over_count == 1 else f"{over_count:,} more files were"
        problems.append(
            Problem("", f"Only the first {limit:,} images were taken, the most in one batch; {more} skipped.")
        )
    if over_total:
        most = images.describe_bytes(max_total)
        last = "the last file was" if over_total == 1 else f"the last {over_total:,} files were"
        problems.append(Problem("", f"The images add up to more than {most} unpacked; {last} skipped."))
    if not items and not problems:
        problems.append(Problem("", "There are no images in this ZIP."))
    return items, problems


def _too_many_entries(count: int, most: int) -> str:
    return f"This ZIP holds {count:,} files; FoxWeb opens ZIPs of up to {most:,}. Split it into smaller ZIPs."


def _check_central_directory(handle: IO[bytes], max_entries: int) -> None:
    """Refuse a ZIP whose table of contents is too long, before zipfile reads all of it into memory.

    zipfile finds the end record the same way (the last signature in the final 64 KB) and parses as many
    bytes of directory as the record says, whatever its entry count claims: both are bounded here.
    """
    try:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        tail_start = max(0, size - (22 + 65535))
        handle.seek(tail_start)
        tail = handle.read(size - tail_start)
    except (OSError, ValueError):
        raise IntakeError(NOT_A_ZIP) from None
    at = tail.rfind(END_OF_CENTRAL_DIRECTORY)
    if at < 0 or len(tail) - at < 22:
        raise IntakeError(NOT_A_ZIP)
    entries, directory_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    locator = tail_start + at - 20
    if (entries == 0xFFFF or directory_bytes == 0xFFFFFFFF) and locator >= 56:
        handle.seek(locator - 56)
        record = handle.read(76)
        if record[:4] == ZIP64_END and record[56:60] == ZIP64_LOCATOR:
            entries, directory_bytes = struct.unpack("<QQ", record[32:48])
    if entries > max_entries or directory_bytes > max_entries * CENTRAL_DIRECTORY_BYTES_PER_ENTRY:
        raise IntakeError(_too_many_entries(entries, max_entries))
    handle.seek(0)


def _member_name(raw: str) -> tuple[str | None, str]:
    """(cleaned name or None to skip silently, a refusal message or "")."""
    parts = [_printable(part) for part in raw.replace("\\", "/").split("/")]
    if raw.endswith(("/", "\\")):
        return None, ""  # a folder
    if ".." in parts:
        shown = _shortened("/".join(part for part in parts if part))
        return shown, "Its name points outside the ZIP, so it was left out."
    if parts and DRIVE.match(parts[0]):
        parts[0] = parts[0][2:]  # "C:/photos/a.jpg" and "C:a.jpg" become "photos/a.jpg" and "a.jpg"
    parts = [part for part in parts if part not in ("", ".")]
    if not parts:
        return None, ""
    if any(part.startswith(".") or part.lower() == "__macosx" for part in parts) or parts[-1].lower() in JUNK_FILES:
        return None, ""
    return _shortened("/".join(parts)), ""


def _printable(text: str) -> str:
    """Without control characters or invisible ones (a right-to-left override can disguise "gpj.exe")."""
    return INVISIBLE.sub("", text).strip()


def _shortened(name: str) -> str:
    return name if len(name) <= MAX_NAME_CHARS else "…" + name[-(MAX_NAME_CHARS - 1) :]


def _header_refusal(member: zipfile.ZipInfo, max_bytes: int) -> str:
    """Why a member is refused from its directory entry alone, or ""."""
    if member.flag_bits & ENCRYPTED:
        return "It is protected by a password, so FoxWeb cannot open it. Make the ZIP again without a password."
    if member.compress_type not in READABLE_METHODS:
        return (
            "It is packed in a way FoxWeb does not unpack. Make the ZIP with your computer's usual “Compress” command."
        )
    if member.file_size == 0:
        return "The file is empty."
    if member.file_size > max_bytes:
        return f"The file is larger than {images.describe_bytes(max_bytes)}."
    if member.file_size > ZIP_BOMB_MIN_BYTES and member.file_size > ZIP_BOMB_RATIO * max(1, member.compress_size):
        return "It is packed so tightly that it looks like a trap (a “zip bomb”), so FoxWeb did not unpack it."
    return ""


def _inspect(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> tuple[str, int, int]:
    """The format and pixel size of one member, from its first bytes; raises IntakeError or ImageError."""
    with _open_member(archive, member, name) as stream:
        head = stream.read(HEAD_BYTES)
    images._check_bytes(head)  # emptiness, PDF, SVG and other files posing as images, as for uploads
    image_format = images.sniff_format(head)
    if image_format is None:
        if head.startswith(ARCHIVE_MAGIC):
            raise IntakeError(NESTED)
        raise IntakeError(f"It is not an image. FoxWeb reads {images.FORMAT_NAMES}.")
    try:
        width, height = _pixel_size(head)
    except _NeedsMore:
        if len(head) >= member.file_size:
            raise IntakeError(DAMAGED_IMAGE) from None
        # A big EXIF or colour profile before the size (JPEG), or the size at the end (TIFF): read it all.
        with _open_member(archive, member, name) as stream:
            whole = stream.read()
        try:
            width, height = _pixel_size(whole)
        except _NeedsMore:
            raise IntakeError(DAMAGED_IMAGE) from None
    if width < 1 or height < 1:
        raise IntakeError("The image has no pixels.")
    if width * height > settings.FOXWEB_MAX_IMAGE_PIXELS:
        raise IntakeError(images._too_many_pixels_message())
    return image_format, width, height


class _NeedsMore(Exception):
    pass


def _pixel_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header (Pillow reads no pixels here); _NeedsMore if it cannot tell."""
    try:
        with Image.open(io.BytesIO(data), formats=images.ACCEPTED_FORMATS) as image:
            return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise IntakeError(images._too_many_pixels_message()) from None
    except Exception as error:  # Pillow's plugins raise many kinds when the bytes run out or are wrong
        logger.debug("no image size from %d bytes: %r", len(data), error)
        raise _NeedsMore from None


def _open_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> _MemberReader:
    try:
        stream = archive.open(member)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as error:
        logger.info("cannot open ZIP member %r: %r", name, error)
        raise IntakeError(DAMAGED_MEMBER) from None
    return _MemberReader(stream, int(settings.FOXWEB_MAX_UPLOAD_BYTES), name)


class _MemberReader(io.RawIOBase):
    """One member's bytes as they are unpacked, refused past the size limit whatever its header said."""

    def __init__(self, stream: IO[bytes], max_bytes: int, name: str):
        super().__init__()
        self._stream = stream
        self._max_bytes = max_bytes
        self._name = name
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._next(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        return self._next(size)

    def readall(self) -> bytes:
        chunks = []
        while chunk := self._next(READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)

    def _next(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as error:
            logger.info("cannot read ZIP member %r: %r", self._name, error)
            raise IntakeError(DAMAGED_MEMBER) from None
        self._count += len(data)
        if self._count > self._max_bytes:
            raise IntakeError(f"The file is larger than {images.describe_bytes(self._max_bytes)}.")
        return data

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


# --- Lists of image addresses -----------------------------------------------------------------

# Header names (lower case, runs of other characters as "_") for each field, the preferred first.
# A row takes each field from the first of its columns that is not empty.
COLUMNS = {
    "url": ("url", "image_url", "image_src", "imageurl", "image_link", "image", "img", "src", "link",
            "photo_url", "picture_url", "photo", "picture", "variant_image"),
    "id": ("id", "sku", "variant_sku", "product_id", "item_id", "handle", "reference", "ref"),
    "filename": ("filename", "file_name", "file", "name", "image_name"),
    "context": ("context", "product_name", "product_title", "title", "product", "page_text", "caption",
                "description"),
    "language": ("language", "lang", "locale"),
}  # fmt: skip
KNOWN_HEADERS = {name for names in COLUMNS.values() for name in names}
DELIMITERS = ("\t", ";", ",")
SNIFF_CHARS = 64 * 1024
MAX_CONTEXT_CHARS = 2000
MAX_ID_CHARS = 200
MAX_LANGUAGE_CHARS = 40
MAX_LISTED_PROBLEMS = 1000
MIN_EXAMINED_ROWS = 10_000  # rows checked: this or ten per address allowed, whichever is more
LANGUAGE = re.compile(r"[^\W\d][\w .()-]*")
URL_START = re.compile(r"\s*(https?:)?//", re.IGNORECASE)
# After the first comma of an unquoted, header-less line: the rest of one address with commas in its
# path (image services write sizes that way: /upload/w_300,h_200,c_fill/shoe.jpg), not more columns.
PATH_GOES_ON = re.compile(r"/[^/]*\.[A-Za-z0-9]{2,5}(?:\?\S*)?$")
SEP_LINE = re.compile(r"sep=(.)\r?\n?$", re.IGNORECASE)
SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx, .ods (ZIP); .xls (OLE)


@dataclass(frozen=True)
class UrlRow:
    """One image address to fetch, with what its row said about it.

    ``row`` is the row number people see in their spreadsheet (a header is row 1); ``url`` is the address
    as fetch.check_url normalised it; ``duplicate_of`` is the row of the same address's first appearance.
    ``filename`` is a label, never a path on disk.
    """

    row: int
    url: str
    id: str = ""
    filename: str = ""
    context: str = ""
    language: str = ""
    duplicate_of: int | None = None


@dataclass
class UrlIntake:
    """The addresses taken from a list, in order, and what was wrong with the other rows."""

    rows: list[UrlRow]
    problems: list[Problem]


def read_url_list(data: str | bytes, *, limit: int | None = None) -> UrlIntake:
    """Read image addresses from pasted text or a CSV file's bytes; check each without fetching it.

    Raises IntakeError if the whole input is unusable (too large, a spreadsheet workbook, a header with
    no address column). ``limit`` is the most rows taken (default FOXWEB_MAX_IMAGES_PER_BATCH).
    """
    limit = int(settings.FOXWEB_MAX_IMAGES_PER_BATCH) if limit is None else limit
    max_bytes = int(settings.FOXWEB_MAX_LIST_BYTES)
    if len(data) > max_bytes:
        raise IntakeError(f"The list is larger than {images.describe_bytes(max_bytes)}. Split it into smaller lists.")
    text = _decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")
    text = text.replace("\x00", "")
    text, delimiter = _sep_line(text)
    sample = text[:SNIFF_CHARS]
    header_line = next((line for line in sample.splitlines() if line.strip()), "")
    header_delimiter, columns = _header(header_line)
    if delimiter is None:
        delimiter = header_delimiter or _sniff_delimiter(sample)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    return _ListReader(limit, delimiter, columns).read(reader)


class _ListReader:
    """The rows of one list, in a single pass; problems past MAX_LISTED_PROBLEMS are only counted."""

    def __init__(self, limit: int, delimiter: str, columns: dict[str, list[int]] | None):
        self.limit = limit
        # Rows checked one by one, good or bad; the rest are only counted, so a flood of bad rows stays quick.
        self.max_examined = max(MIN_EXAMINED_ROWS, 10 * limit)
        self.delimiter = delimiter
        self.columns = columns  # None: no header; the first column holding an address is used
        self.url_column: int | None = None
        self.rows: list[UrlRow] = []
        self.problems: list[Problem] = []
        self.unlisted = 0
        self.seen: dict[str, int] = {}

    def read(self, reader) -> UrlIntake:
        number = 0
        header_seen = self.columns is None
        skipped = examined = 0
        try:
            for fields in reader:
                number += 1
                if not any(value.strip() for value in fields):
                    continue  # a blank line
                if not header_seen:
                    header_seen = True
                    continue
                if len(self.rows) >= self.limit or examined >= self.max_examined:
                    skipped += 1
                    continue
                examined += 1
                self.row(number, fields)
        except csv.Error as error:
            logger.info("list unreadable at row %d: %r", number + 1, error)
            self.problem(
                f"Row {number + 1}",
                "This row could not be read (a quotation mark may be missing its partner), "
                "so the rows from here on were left out.",
            )
        if self.unlisted:
            self.problems.append(Problem("", f"{self.unlisted:,} more rows had problems like those above."))
        if skipped:
            rows = "1 more row was" if skipped == 1 else f"{skipped:,} more rows were"
            if len(self.rows) >= self.limit:
                text = f"Only the first {self.limit:,} addresses were taken; {rows} skipped."
            else:
                text = f"FoxWeb reads up to {self.max_examined:,} rows of a list; {rows} skipped."
            self.problems.append(Problem("", text))
        if not self.rows and not self.problems:
            self.problems.append(Problem("", "There are no image addresses in this list."))
        return UrlIntake(rows=self.rows, problems=self.problems)

    def problem(self, where: str, message: str, *, kept: bool = False) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(Problem(where, message, kept))
        else:
            self.unlisted += 1

    def value(self, fields: list[str], name: str) -> str:
        for index in (self.columns or {}).get(name, ()):
            if index < len(fields) and fields[index].strip():
                return fields[index].strip()
        return ""

    def row(self, number: int, fields: list[str]) -> None:
        label = _shortened(_clean(self.value(fields, "filename") or self.value(fields, "id")))
        where = f"Row {number} ({label})" if label else f"Row {number}"
        url = self.value(fields, "url") if self.columns is not None else self.headerless_url(fields)
        if not url:
            self.problem(where, "There is no image address in this row.")
            return
        try:
            url = fetch.check_url(url)
        except fetch.FetchError as error:
            self.problem(where, error.user_message)
            return
        first = self.seen.setdefault(url, number)
        if first != number:
            self.problem(where, f"The same address as row {first}.", kept=True)
        context = _clean(self.value(fields, "context"), keep_lines=True)
        if len(context) > MAX_CONTEXT_CHARS:
            context = context[:MAX_CONTEXT_CHARS].rstrip()
            self.problem(where, f"The context was shortened to {MAX_CONTEXT_CHARS:,} characters.", kept=True)
        language = _clean(self.value(fields, "language"))
        if language and (len(language) > MAX_LANGUAGE_CHARS or not LANGUAGE.fullmatch(language)):
            self.problem(where, "The language is not a language name or code, so it was left out.", kept=True)
            language = ""
        self.rows.append(
            UrlRow(
                row=number,
                url=url,
                id=_clean(self.value(fields, "id"))[:MAX_ID_CHARS],
                filename=_shortened(_clean(self.value(fields, "filename"))),
                context=context,
                language=language,
                duplicate_of=None if first == number else first,
            )
        )

    def headerless_url(self, fields: list[str]) -> str:
        if self.url_column is None:  # the first row with content decides
            self.url_column = next((index for index, value in enumerate(fields) if URL_START.match(value)), 0)
        if self.delimiter == "," and len(fields) > 1:
            line = ",".join(fields).strip()
            one_token = not any(char.isspace() or char == '"' for char in line)
            if one_token and URL_START.match(line) and PATH_GOES_ON.search(line.partition(",")[2]):
                return line
        return fields[self.url_column].strip() if self.url_column < len(fields) else ""


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if data.startswith(SPREADSHEET_MAGIC):
        raise IntakeError("This is a spreadsheet workbook, not a CSV file. Save it as CSV and upload that.")
    if b"\x00" in data[:8192]:
        raise IntakeError("This is not a text file. Upload a CSV file or paste the addresses, one per line.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Windows-1252 (Excel's "CSV" on Western Windows); its five unused bytes become "�".
        return data.decode("cp1252", errors="replace")


def _sep_line(text: str) -> tuple[str, str | None]:
    """Excel's "sep=;" first line, which it does not show as a row: (the rest of the text, the delimiter)."""
    first, newline, rest = text.partition("\n")
    match = SEP_LINE.fullmatch(first + newline)
    if match and match.group(1) in DELIMITERS:
        return rest, match.group(1)
    return text, None


def _header_key(value: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_")


def _header(line: str) -> tuple[str | None, dict[str, list[int]] | None]:
    """(delimiter, field -> column indexes) if the first line is a header row, else (None, None).

    A header names at least one known column (or one whose name has the word "url") and holds no address;
    the delimiter that splits it into the most known names wins.
    """
    best: tuple[tuple[int, int], str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if any(URL_START.match(cell) for cell in cells):
            return None, None
        keys = [_header_key(cell) for cell in cells]
        known = sum(1 for key in keys if key in KNOWN_HEADERS or "url" in key.split("_"))
        score = (known, len(keys))  # on a tie, the delimiter that makes more columns
        if known and (best is None or score > best[0]):
            best = (score, delimiter, keys)
    if best is None:
        return None, None
    _, delimiter, keys = best
    columns = {name: _columns_named(keys, synonyms) for name, synonyms in COLUMNS.items()}
    if not columns["url"]:
        # A header in another language or with a longer name: any column whose name says "url".
        columns["url"] = [index for index, key in enumerate(keys) if "url" in key.split("_")]
    if not columns["url"]:
        raise IntakeError(
            "The CSV has no column of image addresses. Name that column “url” "
            "(or image_url, image, src or link) in the first row."
        )
    return delimiter, columns


def _columns_named(keys: list[str], synonyms: tuple[str, ...]) -> list[int]:
    """Indexes of the columns named by one of the synonyms, the preferred name first, then left to right."""
    found = [(synonyms.index(key), index) for index, key in enumerate(keys) if key in synonyms]
    return [index for _, index in sorted(found)]


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        pass
    # The Sniffer gives up on one-column lists and on uneven rows; a tab only ever separates columns.
    if any("\t" in line for line in lines):
        return "\t"
    if lines and ";" in lines[0]:
        return ";"
    return ","


def _clean(value: str, *, keep_lines: bool = False) -> str:
    """Trimmed, without control or invisible characters; line breaks (as "\\n") kept if asked."""
    if value.isprintable():  # the usual case, checked in C
        return value.strip()
    if not keep_lines:
        return INVISIBLE.sub("", value).strip()
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(INVISIBLE.sub("", line) for line in lines).strip()
