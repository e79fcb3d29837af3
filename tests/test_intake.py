"""vision/intake.py: batches come in from ZIP files and lists of addresses; every good image or row is kept,
every bad one is named with a plain reason, and hostile archives and lists stay within fixed bounds."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import time
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import imagefactory as factory
from vision import images, intake
from vision.intake import IntakeError, Problem, read_url_list, read_zip

JPEG = factory.encode(factory.photo(40, 30), "JPEG")
PNG = factory.encode(factory.photo(24, 16, seed=2), "PNG")
INSIDE = "This address points to a private or internal network, which FoxWeb does not fetch from."
NOT_AN_IMAGE = "It is not an image. FoxWeb reads JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC."


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.FOXWEB_ALLOW_PRIVATE_URLS = False
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443]
    settings.FOXWEB_MAX_IMAGES_PER_BATCH = 500
    settings.FOXWEB_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
    settings.FOXWEB_MAX_ZIP_BYTES = 2 * 1024 * 1024 * 1024
    settings.FOXWEB_MAX_LIST_BYTES = 10 * 1024 * 1024


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            if name.endswith("/"):
                archive.mkdir(name.rstrip("/"))
            else:
                archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def patched(buffer: io.BytesIO, signature: bytes, offset: int, fmt: str, value: int) -> io.BytesIO:
    """The ZIP with one field changed in the first record with this signature (the first member's)."""
    data = bytearray(buffer.getvalue())
    struct.pack_into(fmt, data, data.index(signature) + offset, value)
    return io.BytesIO(bytes(data))


LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"


def messages(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


# --- ZIP files: ordinary ------------------------------------------------------------------------


def test_it_lists_a_zipped_folder_of_photos_and_skips_what_nobody_meant_to_send():
    archive = make_zip(
        {
            "summer/": b"",
            "summer/shoes/": b"",
            "summer/shoes/red.jpg": JPEG,
            "summer/shoes/blue.png": PNG,
            "__MACOSX/summer/shoes/._red.jpg": b"\x00\x05\x16\x07 AppleDouble",
            "summer/.DS_Store": b"Bud1",
            "summer/Thumbs.db": b"\xd0\xcf\x11\xe0",
            ".hidden/photo.jpg": JPEG,
        }
    )
    with read_zip(archive) as result:
        assert [(item.name, item.size, item.format, item.width, item.height) for item in result.items] == [
            ("summer/shoes/red.jpg", len(JPEG), "JPEG", 40, 30),
            ("summer/shoes/blue.png", len(PNG), "PNG", 24, 16),
        ]
        assert result.problems == []
        assert result.items[0].read() == JPEG
        assert result.items[1].read() == PNG


def test_it_streams_a_member_in_pieces():
    with read_zip(make_zip({"a.jpg": JPEG})) as result, result.items[0].open() as stream:
        pieces = [stream.read(100)]
        while piece := stream.read(1000):
            pieces.append(piece)
    assert b"".join(pieces) == JPEG
    assert len(pieces[0]) == 100


def test_it_reads_a_zip_from_a_path_and_from_a_stored_zip(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_bytes(make_zip({"a.jpg": JPEG}, zipfile.ZIP_STORED).getvalue())
    with read_zip(path) as result:
        assert result.items[0].read() == JPEG
    with path.open("rb") as handle, read_zip(handle) as result:
        assert result.items[0].read() == JPEG


def test_members_can_be_read_from_several_threads_at_once():
    photos = {f"photo-{number}.jpg": factory.encode(factory.photo(64, 48, seed=number), "JPEG") for number in range(8)}
    with read_zip(make_zip(photos)) as result, ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda item: item.read(), result.items)) == list(photos.values())


def test_it_never_holds_the_whole_archive_in_memory(tmp_path):
    padding = os.urandom(1024 * 1024)  # random, so it does not compress: 20 MB on disk
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for number in range(20):
            archive.writestr(f"photo-{number}.png", PNG + padding)
    tracemalloc.start()
    try:
        with read_zip(path) as result:
            _, listing_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            for item in result.items:
                assert len(item.read()) == len(PNG) + len(padding)
            _, reading_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.items) == 20
    assert listing_peak < 1 * 1024 * 1024  # only the first 64 KB of each member, one at a time
    assert reading_peak < 4 * 1024 * 1024  # one member (1 MB) at a time, not 20 MB


def test_a_big_header_before_the_image_size_is_read_through():
    # A JPEG with 200 KB of colour profile before its size: more than the first bytes are needed.
    tall = factory.encode(factory.photo(30, 50), "JPEG", icc_profile=b"\x00" * 200_000)
    with read_zip(make_zip({"profiled.jpg": tall})) as result:
        assert [(item.width, item.height) for item in result.items] == [(30, 50)]


# --- ZIP files: what is refused -------------------------------------------------------------------


def test_a_non_image_member_is_named_and_the_images_kept():
    pdf = b"%PDF-1.7\n" + b"0" * 100
    with read_zip(make_zip({"notes.txt": b"remember the milk", "a.jpg": JPEG, "scan.pdf": pdf})) as result:
        assert [item.name for item in result.items] == ["a.jpg"]
        assert messages(result.problems) == [
            f"notes.txt: {NOT_AN_IMAGE}",
            "scan.pdf: PDF documents are not accepted. Export the page as PNG or JPEG and upload that.",
        ]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../evil.jpg", "../evil.jpg"),
        ("photos/../../etc/evil.jpg", "photos/../../etc/evil.jpg"),
        ("..\\..\\windows\\evil.jpg", "../../windows/evil.jpg"),
    ],
)
def test_names_that_climb_out_of_the_zip_are_refused(raw, shown):
    archive = make_zip({raw: JPEG, "ok.jpg": JPEG})
    assert zipfile.ZipFile(archive).namelist()[0] == raw  # the hostile name really is in the archive
    with read_zip(archive) as result:
        assert [item.name for item in result.items] == ["ok.jpg"]
        assert messages(result.problems) == [f"{shown}: Its name points outside the ZIP, so it was left out."]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/etc/photo.jpg", "etc/photo.jpg"),
        ("//server/share/photo.jpg", "server/share/photo.jpg"),
        ("C:\\Users\\me\\photo.jpg", "Users/me/photo.jpg"),
        ("C:photo.jpg", "photo.jpg"),
        ("./a/./photo.jpg", "a/photo.jpg"),
        ("gpj\u202e.exe.jpg", "gpj.exe.jpg"),  # a right-to-left override would disguise the name
        ("tab\there.jpg", "tabhere.jpg"),
    ],
)
def test_absolute_and_windows_names_become_plain_labels(raw, expected):
    with read_zip(make_zip({raw: JPEG})) as result:
        assert [item.name for item in result.items] == [expected]
        assert result.problems == []


def test_a_very_long_name_keeps_its_end():
    name = "folder/" * 60 + "photo.jpg"
    with read_zip(make_zip({name: JPEG})) as result:
        assert len(result.items[0].name) == intake.MAX_NAME_CHARS
        assert result.items[0].name.startswith("…") and result.items[0].name.endswith("/photo.jpg")


def test_a_zip_bomb_is_refused_from_its_header():
    bomb = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024)
    archive = make_zip({"bomb.png": bomb, "a.jpg": JPEG})
    assert len(archive.getvalue()) < 100_000  # 20 MB unpacked from a few kilobytes
    with read_zip(archive) as result:
        assert [item.name for item in result.items] == ["a.jpg"]
        assert messages(result.problems) == [
            "bomb.png: It is packed so tightly that it looks like a trap (a “zip bomb”), so FoxWeb did not unpack it."
        ]


def test_a_small_tightly_packed_member_is_not_a_bomb():
    flat = factory.encode(factory.Image.new("RGB", (800, 600), "white"), "BMP")  # 1.4 MB, packs 500:1
    with read_zip(make_zip({"flat.bmp": flat})) as result:
        assert [(item.format, item.width) for item in result.items] == [("BMP", 800)]


def test_a_member_larger_than_the_upload_limit_is_refused_from_its_header(settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 1000
    with read_zip(make_zip({"big.jpg": JPEG + b"\x00" * 2000})) as result:
        assert messages(result.problems) == ["big.jpg: The file is larger than 1000 bytes."]


def test_a_member_whose_header_lies_about_its_size_is_refused():
    # The directory says 100 bytes; the member holds a whole picture. zipfile stops at 100 and the check
    # sum then fails: never more than the header promised is unpacked, and the member is refused.
    honest = make_zip({"liar.png": PNG + b"\x00" * 50_000, "a.jpg": JPEG}, zipfile.ZIP_STORED)
    lying = patched(patched(honest, CENTRAL, 24, "<I", 100), LOCAL, 22, "<I", 100)
    with read_zip(lying) as result:
        assert [item.name for item in result.items] == ["a.jpg"]
        assert messages(result.problems) == [f"liar.png: {intake.DAMAGED_MEMBER}"]


def test_reading_stops_at_the_upload_limit_whatever_the_header_said(settings):
    with read_zip(make_zip({"a.png": PNG + b"\x00" * 5000})) as result:
        settings.FOXWEB_MAX_UPLOAD_BYTES = 2048  # as if the header had understated the size
        with pytest.raises(IntakeError, match="The file is larger than 2 KB."):
            result.items[0].read()


def test_a_member_damaged_inside_the_zip_is_a_plain_error_when_read():
    data = bytearray(make_zip({"a.png": PNG + os.urandom(200_000)}, zipfile.ZIP_STORED).getvalue())
    data[150_000] ^= 0xFF  # past the first bytes, which intake reads: the check sum fails on reading
    with read_zip(io.BytesIO(bytes(data))) as result, pytest.raises(IntakeError) as error:
        result.items[0].read()
    assert error.value.user_message == intake.DAMAGED_MEMBER


def test_nested_archives_are_ignored_with_a_note():
    inner = make_zip({"a.jpg": JPEG}).getvalue()
    archive = make_zip({"more.zip": inner, "disguised.jpg": inner, "b.tar.gz": b"\x1f\x8b...", "c.jpg": JPEG})
    with read_zip(archive) as result:
        assert [item.name for item in result.items] == ["c.jpg"]
        assert messages(result.problems) == [
            f"{name}: {intake.NESTED}" for name in ("more.zip", "disguised.jpg", "b.tar.gz")
        ]


def test_a_member_with_a_password_is_named():
    # Python cannot write encrypted ZIPs: mark the member as encrypted in the directory, as a real one is.
    archive = patched(make_zip({"secret.jpg": JPEG}), CENTRAL, 8, "<H", 0x1)
    with read_zip(archive) as result:
        assert result.items == []
        assert result.problems == [
            Problem(
                "secret.jpg",
                "It is protected by a password, so FoxWeb cannot open it. Make the ZIP again without a password.",
            )
        ]


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs Info-ZIP's zip to make a truly encrypted member")
def test_a_member_encrypted_by_a_real_zip_tool_is_named(tmp_path):
    (tmp_path / "secret.jpg").write_bytes(JPEG)
    (tmp_path / "open.jpg").write_bytes(JPEG)
    subprocess.run(["zip", "-q", "-P", "hunter2", "locked.zip", "secret.jpg"], cwd=tmp_path, check=True)
    subprocess.run(["zip", "-q", "locked.zip", "open.jpg"], cwd=tmp_path, check=True)
    assert zipfile.ZipFile(tmp_path / "locked.zip").read("secret.jpg", pwd=b"hunter2") == JPEG
    with read_zip(tmp_path / "locked.zip") as result:
        assert [item.name for item in result.items] == ["open.jpg"]
        assert [problem.where for problem in result.problems] == ["secret.jpg"]


def test_bzip2_and_lzma_members_are_not_unpacked():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("a.jpg", JPEG, compress_type=zipfile.ZIP_BZIP2)
        writer.writestr("b.jpg", JPEG, compress_type=zipfile.ZIP_LZMA)
        writer.writestr("c.jpg", JPEG, compress_type=zipfile.ZIP_DEFLATED)
    with read_zip(archive) as result:
        assert [item.name for item in result.items] == ["c.jpg"]
        assert [problem.where for problem in result.problems] == ["a.jpg", "b.jpg"]
        assert "usual “Compress” command" in result.problems[0].message


def test_an_image_with_too_many_pixels_is_refused_from_its_header():
    with read_zip(make_zip({"huge.png": factory.png_header_only(20_000, 20_000), "a.jpg": JPEG})) as result:
        assert [item.name for item in result.items] == ["a.jpg"]
        assert messages(result.problems) == [
            "huge.png: The image has too many pixels: FoxWeb accepts up to 60 million pixels (about 9500 × 6300)."
        ]


def test_empty_and_damaged_images_are_named():
    with read_zip(make_zip({"empty.jpg": b"", "cut.png": PNG[:20]})) as result:
        assert messages(result.problems) == ["empty.jpg: The file is empty.", f"cut.png: {intake.DAMAGED_IMAGE}"]


def test_more_images_than_the_limit_are_skipped_and_counted():
    photos = {f"{number}.jpg": JPEG for number in range(5)}
    with read_zip(make_zip({**photos, "notes.txt": b"x"}), limit=3) as result:
        assert [item.name for item in result.items] == ["0.jpg", "1.jpg", "2.jpg"]
        assert messages(result.problems) == [
            "Only the first 3 images were taken, the most in one batch; 3 more files were skipped."
        ]


def test_the_limit_defaults_to_the_batch_setting(settings):
    settings.FOXWEB_MAX_IMAGES_PER_BATCH = 1
    with read_zip(make_zip({"a.jpg": JPEG, "b.jpg": JPEG})) as result:
        assert len(result.items) == 1
        assert str(result.problems[0]).endswith("1 more file was skipped.")


def test_images_past_the_total_unpacked_size_are_skipped(settings):
    settings.FOXWEB_MAX_ZIP_BYTES = 2 * len(JPEG) + 10
    with read_zip(make_zip({f"{number}.jpg": JPEG for number in range(4)})) as result:
        assert len(result.items) == 2
        most = images.describe_bytes(2 * len(JPEG) + 10)
        assert messages(result.problems) == [
            f"The images add up to more than {most} unpacked; the last 2 files were skipped."
        ]


def test_a_zip_listing_too_many_files_is_refused_before_they_are_read(monkeypatch):
    monkeypatch.setattr(intake, "MIN_ZIP_ENTRIES", 10)
    with pytest.raises(IntakeError, match="This ZIP holds 11 files; FoxWeb opens ZIPs of up to 10."):
        read_zip(make_zip({f"{number}.jpg": b"" for number in range(11)}), limit=1)


def test_a_zip_that_understates_its_file_count_is_refused_by_its_directory_size(monkeypatch):
    monkeypatch.setattr(intake, "MIN_ZIP_ENTRIES", 10)
    archive = make_zip({f"folder-with-a-long-name-{number:04}/photo.jpg": b"" for number in range(100)})
    archive = patched(archive, b"PK\x05\x06", 8, "<H", 1)  # claims one entry
    archive = patched(archive, b"PK\x05\x06", 10, "<H", 1)
    with pytest.raises(IntakeError, match="FoxWeb opens ZIPs of up to 10"):
        read_zip(archive, limit=1)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", JPEG, make_zip({"a.jpg": JPEG}).getvalue()[:-30]])
def test_a_file_that_is_not_a_readable_zip_is_a_plain_error(data):
    with pytest.raises(IntakeError) as error:
        read_zip(io.BytesIO(data))
    assert error.value.user_message == intake.NOT_A_ZIP


def test_a_zip_with_nothing_in_it_says_so():
    with read_zip(make_zip({"folder/": b"", ".DS_Store": b"x"})) as result:
        assert messages(result.problems) == ["There are no images in this ZIP."]


# --- lists of addresses ---------------------------------------------------------------------------


def urls(result) -> list[tuple[int, str]]:
    return [(row.row, row.url) for row in result.rows]


def test_a_pasted_list_has_one_address_a_line():
    result = read_url_list("https://shop.example/a.jpg\n\n  https://shop.example/b.png  \r\nhttps://cdn.example/c.webp")
    assert urls(result) == [
        (1, "https://shop.example/a.jpg"),
        (3, "https://shop.example/b.png"),
        (4, "https://cdn.example/c.webp"),
    ]
    assert result.problems == []


def test_private_addresses_are_refused_with_the_fetchers_words():
    result = read_url_list(
        "https://shop.example/a.jpg\nhttp://127.0.0.1/x.jpg\nhttp://10.0.0.1/\nhttp://localhost/y.png"
    )
    assert urls(result) == [(1, "https://shop.example/a.jpg")]
    assert messages(result.problems) == [f"Row {number}: {INSIDE}" for number in (2, 3, 4)]


def test_other_bad_addresses_get_the_fetchers_plain_reasons():
    result = read_url_list(
        "javascript:alert(1)\nftp://files.example/a.jpg\nhttps://user:pw@shop.example/a.jpg\nshoe.jpg"
    )
    assert result.rows == []
    assert messages(result.problems) == [
        "Row 1: Only web addresses starting with http:// or https:// can be fetched.",
        "Row 2: Only web addresses starting with http:// or https:// can be fetched.",
        "Row 3: Addresses with a user name or password are not accepted.",
        "Row 4: This is not a complete web address; it should start with https://.",
    ]


def test_a_csv_header_names_its_columns_in_any_case_and_with_synonyms():
    text = (
        "Image URL,SKU,File,Product Name,Lang,Colour\n"
        "https://shop.example/a.jpg,A-1,red.jpg,Red running shoe,de,red\n"
        'https://shop.example/b.jpg,B-2,,"Blue hat, wool",,blue\n'
    )
    result = read_url_list(text)
    assert result.rows == [
        intake.UrlRow(2, "https://shop.example/a.jpg", "A-1", "red.jpg", "Red running shoe", "de"),
        intake.UrlRow(3, "https://shop.example/b.jpg", "B-2", "", "Blue hat, wool", ""),
    ]
    assert result.problems == []


def shopify_export() -> str:
    return (
        "Handle;Title;Body (HTML);Vendor;Variant SKU;Image Src;Image Position;Image Alt Text\n"
        'red-shoe;Chaussure rouge;"<p>Cuir; semelle en caoutchouc.</p>\n<p>Taille 42</p>";Fox;RS-42;'
        "https://cdn.shopify.example/files/red-shoe.jpg?v=1;1;\n"
        "red-shoe;;;;;https://cdn.shopify.example/files/red-shoe-back.jpg?v=1;2;\n"
        "red-shoe;;;;RS-43;;;\n"
        "blue-hat;Béret bleu;Laine;Fox;BH-1;https://cdn.shopify.example/files/blue-hat.jpg;1;Un béret\n"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_shopify_like_export_with_semicolons_in_any_common_encoding(encoding):
    result = read_url_list(shopify_export().encode(encoding))
    assert [(row.row, row.id, row.context) for row in result.rows] == [
        (2, "RS-42", "Chaussure rouge"),
        (3, "red-shoe", ""),  # no variant SKU on an extra picture's row: the handle says which product
        (5, "BH-1", "Béret bleu"),
    ]
    assert result.rows[0].url == "https://cdn.shopify.example/files/red-shoe.jpg?v=1"
    assert messages(result.problems) == ["Row 4 (RS-43): There is no image address in this row."]


def test_utf16_tab_separated_text_from_excel_is_read():
    text = "URL\tName\r\nhttps://shop.example/ä.jpg\tÄpfel\r\n"
    result = read_url_list(text.encode("utf-16"))
    assert [(row.url, row.filename) for row in result.rows] == [("https://shop.example/ä.jpg", "Äpfel")]


def test_cells_pasted_from_a_spreadsheet_are_tab_separated():
    result = read_url_list("https://shop.example/a.jpg\tRed shoe, size 42\nhttps://shop.example/b.jpg\tBlue hat\n")
    assert urls(result) == [(1, "https://shop.example/a.jpg"), (2, "https://shop.example/b.jpg")]


def test_excels_sep_line_sets_the_delimiter_and_is_not_a_row():
    result = read_url_list("sep=;\nurl;context\nhttps://shop.example/a.jpg;Red, blue and green\n")
    assert [(row.row, row.context) for row in result.rows] == [(2, "Red, blue and green")]


def test_a_headerless_csv_takes_the_column_holding_addresses():
    result = read_url_list("https://shop.example/a.jpg,A-1,Red shoe\nhttps://shop.example/b.jpg,B-2,Blue hat\n")
    assert urls(result) == [(1, "https://shop.example/a.jpg"), (2, "https://shop.example/b.jpg")]
    numbered = read_url_list("1;https://shop.example/a.jpg\n2;https://shop.example/b.jpg\n")
    assert urls(numbered) == [(1, "https://shop.example/a.jpg"), (2, "https://shop.example/b.jpg")]


def test_commas_inside_an_image_services_address_stay_in_the_address():
    pasted = (
        "https://res.cloudinary.example/demo/image/upload/w_300,h_200,c_fill/shoe.jpg\n"
        "https://res.cloudinary.example/demo/image/upload/w_300,h_200,c_fill/hat.png?v=2\n"
    )
    assert [row.url for row in read_url_list(pasted).rows] == pasted.split()
    dated = read_url_list("https://shop.example/a.jpg,12/05/2024\n")  # a date column, not more address
    assert [row.url for row in dated.rows] == ["https://shop.example/a.jpg"]


def test_quoted_fields_may_hold_line_breaks_and_rows_keep_their_spreadsheet_numbers():
    text = 'url,context\n"https://shop.example/a.jpg","Line one\nline two\n\nline four"\n\n,no address\n'
    result = read_url_list(text)
    assert [(row.row, row.context) for row in result.rows] == [(2, "Line one\nline two\n\nline four")]
    assert messages(result.problems) == ["Row 4: There is no image address in this row."]


def test_repeated_addresses_are_kept_and_noted():
    result = read_url_list("url,sku\nhttps://shop.example/a.jpg,A\nhttps://SHOP.example/a.jpg,B\n")
    assert [(row.id, row.duplicate_of) for row in result.rows] == [("A", None), ("B", 2)]
    assert result.problems == [Problem("Row 3 (B)", "The same address as row 2.", kept=True)]


def test_a_header_without_an_address_column_is_a_plain_error():
    with pytest.raises(IntakeError, match="The CSV has no column of image addresses"):
        read_url_list("sku,title\nA-1,Red shoe\n")


def test_a_header_in_another_language_is_found_by_its_url_column():
    result = read_url_list("Artikelnummer;Bild URL\nA-1;https://shop.example/a.jpg\n")
    assert urls(result) == [(2, "https://shop.example/a.jpg")]


def test_long_context_is_shortened_and_odd_fields_cleaned():
    context = "x" * (intake.MAX_CONTEXT_CHARS + 50)
    text = f"url,context,language,filename\nhttps://shop.example/a.jpg,{context},not a language!,gpj\u202e.exe\n"
    result = read_url_list(text)
    row = result.rows[0]
    assert len(row.context) == intake.MAX_CONTEXT_CHARS
    assert (row.language, row.filename) == ("", "gpj.exe")
    assert [problem.kept for problem in result.problems] == [True, True]
    assert messages(result.problems) == [
        "Row 2 (gpj.exe): The context was shortened to 2,000 characters.",
        "Row 2 (gpj.exe): The language is not a language name or code, so it was left out.",
    ]


@pytest.mark.parametrize("language", ["de", "pt-BR", "zh_Hant", "German", "Português (Brasil)", "日本語"])
def test_languages_are_taken_as_written(language):
    assert read_url_list(f"url,language\nhttps://shop.example/a.jpg,{language}\n").rows[0].language == language


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "This is a spreadsheet workbook, not a CSV file."),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "This is a spreadsheet workbook, not a CSV file."),
        (JPEG, "This is not a text file."),
    ],
)
def test_files_that_are_not_text_are_a_plain_error(data, message):
    with pytest.raises(IntakeError, match=message):
        read_url_list(data)


def test_an_empty_list_says_so():
    assert messages(read_url_list(" \n\n").problems) == ["There are no image addresses in this list."]


def test_rows_past_the_limit_are_skipped_and_counted_quickly():
    text = "url,sku\n" + "".join(f"https://shop.example/photos/{number}.jpg,SKU-{number}\n" for number in range(10_000))
    started = time.perf_counter()
    result = read_url_list(text, limit=500)
    elapsed = time.perf_counter() - started
    assert len(result.rows) == 500 and result.rows[-1].id == "SKU-499"
    assert messages(result.problems) == ["Only the first 500 addresses were taken; 9,500 more rows were skipped."]
    assert elapsed < 5  # about 0.2 s on a loaded 2-core machine


def test_ten_thousand_rows_in_a_ten_megabyte_file_are_read_quickly():
    context = "A product description long enough to fill the file. " * 18  # ~1 KB a row
    lines = [f'https://shop.example/photos/{number}.jpg;SKU-{number};"{context}"' for number in range(10_000)]
    data = ("url;sku;context\n" + "\n".join(lines)).encode()
    assert 9 * 1024 * 1024 < len(data) <= 10 * 1024 * 1024
    started = time.perf_counter()
    result = read_url_list(data, limit=10_000)
    elapsed = time.perf_counter() - started
    assert len(result.rows) == 10_000 and result.problems == []
    assert elapsed < 20  # about 3 s on a loaded 2-core machine, most of it fetch.check_url


def test_a_list_larger_than_the_setting_is_refused(settings):
    settings.FOXWEB_MAX_LIST_BYTES = 1000
    with pytest.raises(IntakeError, match="The list is larger than 1000 bytes"):
        read_url_list(b"https://shop.example/a.jpg\n" * 100)


def test_a_flood_of_bad_rows_lists_a_bounded_number_of_problems_quickly():
    started = time.perf_counter()
    result = read_url_list("not an address\n" * 500_000 + "https://shop.example/late.jpg\n")  # 7.5 MB
    elapsed = time.perf_counter() - started
    assert result.rows == []
    assert len(result.problems) == intake.MAX_LISTED_PROBLEMS + 2
    assert messages(result.problems[-2:]) == [
        "9,000 more rows had problems like those above.",
        "FoxWeb reads up to 10,000 rows of a list; 490,001 more rows were skipped.",
    ]
    assert elapsed < 20  # about 3 s on a loaded 2-core machine


def test_rows_are_checked_up_to_ten_times_the_limit(monkeypatch):
    monkeypatch.setattr(intake, "MIN_EXAMINED_ROWS", 10)
    text = "not an address\n" * 50 + "https://shop.example/a.jpg\n"
    assert read_url_list(text, limit=2).rows == []  # 20 rows checked
    assert urls(read_url_list(text, limit=6)) == [(51, "https://shop.example/a.jpg")]  # 60 rows checked


def test_a_quote_that_is_never_closed_keeps_the_rows_before_it():
    text = 'url,context\nhttps://shop.example/a.jpg,fine\nhttps://shop.example/b.jpg,"never closed\n' + "x" * 200_000
    result = read_url_list(text)
    assert urls(result) == [(2, "https://shop.example/a.jpg")]
    assert str(result.problems[0]).startswith("Row 3: This row could not be read")


def test_an_uploaded_file_is_read_in_place():
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photos.zip", make_zip({"a.jpg": JPEG}).getvalue(), "application/zip")
    with read_zip(upload) as result:
        assert [(item.name, item.read()) for item in result.items] == [("a.jpg", JPEG)]
