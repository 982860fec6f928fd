"""Bytes of input files: decompression, a leading sample, binary checks, encodings, hashing.

DuckDB reads UTF-8 (with or without a byte-order mark) itself, plain or gzip/zstd-compressed.
Other encodings (GB18030/GBK, UTF-16, Windows code pages) cannot be read offline, so the file
is transcoded to a temporary UTF-8 file in large streaming chunks (an incremental decoder,
never line by line) and the temporary file is deleted after loading.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
from pathlib import Path
from typing import IO

from valuemax._core.exceptions import InputError

_ASCII_RUN = re.compile(r"[\x00-\x7f]+")

#: Bytes read from the start of a file to detect its encoding and layout.
SAMPLE_BYTES = 1 << 20
_CHUNK = 8 << 20

#: File signatures of things that are not text tables, and what to tell the user.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one: give it the .xlsx extension)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls/OLE file (save it as .xlsx or .csv)"),
    (b"\x1f\x8b", "gzip-compressed (add the .gz extension)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed (add the .zst extension)"),
    (b"PAR1", "a Parquet file (give it the .parquet extension)"),
    (b"SQLite format 3", "an SQLite database"),
)


def open_binary(path: Path, compression: str | None) -> IO[bytes]:
    """Open ``path`` for reading decompressed bytes (``compression``: gzip, zstd or None)."""
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "zstd":
        import zstandard

        fh = open(path, "rb")  # noqa: SIM115 - closed by the stream reader (closefd)
        return zstandard.ZstdDecompressor().stream_reader(fh, closefd=True)
    return open(path, "rb")


def _read_up_to(fh: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = fh.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def read_sample(path: Path, compression: str | None, *, source: str) -> tuple[bytes, bool]:
    """Return the first ``SAMPLE_BYTES`` decompressed bytes and whether that is the whole file.

    Raises
    ------
    InputError
        If the compressed stream is corrupt or not in the format its extension says.
    """
    try:
        with open_binary(path, compression) as fh:
            data = _read_up_to(fh, SAMPLE_BYTES + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"{source} cannot be decompressed as {compression}: {exc}. Check that the file is "
            f"complete and that its extension matches its compression."
        ) from exc
    return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES


def check_text(sample: bytes, *, source: str, wide: bool = False) -> None:
    """Raise ``InputError`` when ``sample`` is the start of a binary (non-text) file.

    ``wide``: the caller says the text is UTF-16/32, where NUL bytes are normal.

    Raises
    ------
    InputError
        If the bytes carry a known binary signature or NUL bytes (outside UTF-16).
    """
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise InputError(
                f"{source} is not a text table: it is {what}. Expected CSV/TSV/text, "
                f"Parquet, .xlsx or JSON lines."
            )
    if sample[8:12] == b"DUCK":
        raise InputError(
            f"{source} is a DuckDB database, not a text table; pass "
            f"'duckdb:///{source}::<table>' to read one of its tables."
        )
    wide = wide or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not wide and b"\x00" in sample:
        n_nul = sample.count(b"\x00")
        utf16 = utf16_order(sample)
        hint = (f"if it is UTF-16 text without a byte-order mark, pass encoding={utf16!r} "
                f"(CLI --encoding {utf16}): its NUL bytes sit at "
                f"{'odd' if utf16 == 'utf-16-le' else 'even'} offsets, as in "
                f"{'little' if utf16 == 'utf-16-le' else 'big'}-endian UTF-16 text"
                if utf16 else "if it is text, save it as UTF-8")
        raise InputError(
            f"{source} is not a text table: its first {len(sample):,} bytes contain "
            f"{n_nul:,} NUL bytes (binary data). Expected CSV/TSV/text, Parquet, .xlsx or "
            f"JSON lines; {hint}."
        )


def utf16_order(sample: bytes) -> str | None:
    """``'utf-16-le'`` / ``'utf-16-be'`` when the NUL bytes of ``sample`` sit where ASCII
    text in that byte order has them (>= 90% at odd / even offsets), else None.

    Examples
    --------
    >>> utf16_order("id,x".encode("utf-16-le")), utf16_order("id,x".encode("utf-16-be"))
    ('utf-16-le', 'utf-16-be')
    """
    odd = sample[1::2].count(0)
    even = sample[0::2].count(0)
    half = len(sample) // 2
    if not half or odd + even < 0.25 * half:
        return None
    if odd >= 0.9 * (odd + even):
        return "utf-16-le"
    if even >= 0.9 * (odd + even):
        return "utf-16-be"
    return None


_LINE_SPLIT = re.compile(r"\r\n|\n|\r")

#: Share of lines whose bytes may be invalid in the file's encoding (a corrupted or partly
#: mixed export): those lines are quarantined as ``undecodable_text``; above it the encoding
#: is taken to be wrong and the file is refused.
UNDECODABLE_SHARE = 0.01


def tolerable(text: str) -> bool:
    """True when the lines of decoded ``text`` holding U+FFFD (a byte sequence the decoder
    replaced) are at most :data:`UNDECODABLE_SHARE` of its lines (so none in a sample of
    under 100 lines), and at least one is clean."""
    bad = text.count("\ufffd")
    if not bad:
        return True
    lines = [ln for ln in _LINE_SPLIT.split(text) if ln.strip()]
    n_bad = sum("\ufffd" in ln for ln in lines)
    # no floor of one line: in a sample of under 100 lines one bad line cannot be told
    # from another encoding
    return n_bad < len(lines) and n_bad <= UNDECODABLE_SHARE * len(lines)


def _too_corrupt(text: str, encoding: str, source: str) -> str:
    """The message for decoded ``text`` (a sample) with more lines of invalid bytes than
    :func:`tolerable` accepts: how many, which line first, the limit and the fixes."""
    lines = [ln for ln in _LINE_SPLIT.split(text)]
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    bad = [i for i in filled if "\ufffd" in lines[i]]
    return (f"{source} reads as {encoding} except for bytes that are not valid {encoding} "
            f"on {len(bad):,} of the {len(filled):,} lines sampled ({len(bad) / len(filled):.1%}"
            f"; first on line {bad[0] + 1:,} of the file: {lines[bad[0]].strip()[:60]!r}): "
            f"more than the {UNDECODABLE_SHARE:.0%} of lines valuemax quarantines as "
            f"undecodable_text, so the file is taken to be corrupted. Re-export it, or repair "
            f"those lines; if it is in another encoding, pass encoding= (CLI --encoding).")


def _replaced(sample: bytes, encoding: str, at_eof: bool) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample,
                                                                        final=at_eof)


def check_decodes(sample: bytes, encoding: str, at_eof: bool, *, source: str) -> None:
    """Raise ``InputError`` unless ``sample`` is valid text in the user-given ``encoding``
    (a few lines with invalid bytes are tolerated, see :func:`tolerable`).

    Raises
    ------
    InputError
        Naming the byte offset, the reason and an encoding to try (from the NUL bytes, or
        the detected one).
    """
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")) and b"\x00" not in sample:
        problem = ("it has no NUL bytes, so it is not UTF-16/32 (each ASCII character, such "
                   "as a delimiter, has a NUL byte there)")
        pos = 0
    else:
        try:
            codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample,
                                                                            final=at_eof)
            return
        except UnicodeDecodeError as exc:
            pos, problem = exc.start, exc.reason
            # a few corrupted lines, unless an encoding valuemax detects reads it whole
            # (then the given one is wrong)
            if not any(_decodes(sample, e, at_eof) is not None for e in ("utf-8", "gb18030")):
                text = _replaced(sample, encoding, at_eof)
                if tolerable(text):
                    return
                if _mostly_readable(text):
                    raise InputError(_too_corrupt(text, encoding, source)) from exc
        except UnicodeError as exc:  # e.g. 'UTF-16 stream does not start with BOM'
            pos, problem = 0, str(exc)
    raise InputError(
        f"could not decode {source} as {encoding} at byte {pos:,}: {problem}; try "
        f"encoding={_suggest(sample, at_eof, name)!r} (CLI --encoding), or leave encoding= "
        f"unset to detect it."
    )


def _suggest(sample: bytes, at_eof: bool, given: str) -> str:
    order = utf16_order(sample)
    if order:
        return order
    try:
        return detect_encoding(sample, at_eof, source="")
    except InputError:
        return "utf-8" if given != "utf-8" else "cp1252"


def _decodes(sample: bytes, encoding: str, at_eof: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(sample, final=at_eof)
    except UnicodeDecodeError:
        return None


def _mostly_readable(text: str) -> bool:
    """True when at most a fifth of the lines of ``text`` hold U+FFFD: a corrupted file
    rather than one in another encoding."""
    lines = [ln for ln in _LINE_SPLIT.split(text) if ln.strip()]
    return bool(lines) and sum("\ufffd" in ln for ln in lines) <= 0.2 * len(lines)


def _mostly_gb2312(text: str) -> bool:
    """True when the non-ASCII characters are mostly common Chinese (GB2312) characters."""
    wide = _ASCII_RUN.sub("", text)
    if not wide:
        return True
    encoded = wide.encode("gb2312", errors="replace")
    return encoded.count(b"?") <= 0.2 * len(wide)


def detect_encoding(sample: bytes, at_eof: bool, *, source: str) -> str:
    """Return the Python codec name of ``sample``'s text encoding.

    Order: a UTF-8 byte-order mark (``'utf-8-sig'``), a UTF-16 one (``'utf-16'``), strict
    UTF-8, strict GB18030 whose non-ASCII characters are mostly Chinese; then the same two
    with a few lines of invalid bytes (:func:`tolerable`; the read quarantines those lines as
    ``undecodable_text``). Anything else is not guessed: charset-normalizer's candidates are
    named in the error.

    Raises
    ------
    InputError
        If none of these fits (with charset-normalizer's suggestions and the ``encoding=``
        fix).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8", at_eof) is not None:
        return "utf-8"
    text = _decodes(sample, "gb18030", at_eof)
    if text is not None and _mostly_gb2312(text):
        return "gb18030"
    if tolerable(_replaced(sample, "utf-8", at_eof)):
        return "utf-8"
    text = _replaced(sample, "gb18030", at_eof)
    if _mostly_gb2312(text.replace("\ufffd", "")) and _mostly_readable(text):
        if tolerable(text):
            return "gb18030"
        raise InputError(_too_corrupt(text, "gb18030", source))
    from charset_normalizer import from_bytes

    guesses = list(dict.fromkeys(codecs.lookup(m.encoding).name for m in from_bytes(sample)))[:4]
    looks = f"; charset-normalizer suggests {', '.join(guesses)}" if guesses else ""
    raise InputError(
        f"cannot tell the text encoding of {source}: its first {len(sample):,} bytes are "
        f"neither UTF-8 nor GB18030{looks}. valuemax does not guess an encoding (a wrong one "
        f"garbles names silently): pass encoding= (e.g. encoding='cp1252' for Western "
        f"European Excel exports, 'latin-1', 'cp1251', 'shift_jis'; CLI --encoding)."
    )


def normalise_encoding(encoding: str) -> str:
    """Return the Python codec name of ``encoding`` (``'GBK'`` -> ``'gbk'``).

    Raises
    ------
    InputError
        If Python knows no such codec, or the codec is not a text encoding (``rot13``,
        ``hex``, ``base64``, ``zlib``: bytes-to-bytes or str-to-str transforms).
    """
    hint = ("use a Python codec name such as 'utf-8', 'utf-8-sig', 'gb18030', 'gbk', "
            "'latin-1', 'cp1252'.")
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError) as exc:
        raise InputError(f"encoding={encoding!r} is not a known text encoding; {hint}") from exc
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(f"encoding={encoding!r} is a data transform ({info.name}), not a "
                         f"text encoding; {hint}")
    return info.name


def needs_transcoding(encoding: str) -> bool:
    """True unless DuckDB reads ``encoding`` natively (UTF-8 with or without a BOM)."""
    return codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig")


def transcode_to_utf8(
    path: Path, compression: str | None, encoding: str, dest: Path, *, source: str,
    unify_newlines: bool = False,
) -> tuple[Path, int]:
    """Write ``path`` decoded from ``encoding`` as UTF-8 to ``dest``; return ``dest``.

    Streams 8 MiB chunks through an incremental decoder; line ends are kept as they are.
    With ``unify_newlines`` every CR LF becomes LF (a file mixing both, which DuckDB's reader
    refuses). Bytes not valid in ``encoding`` become U+FFFD (the replacement character): the
    lines holding them are quarantined as ``undecodable_text`` by the read, which refuses the file
    when they are more than :data:`UNDECODABLE_SHARE` of its lines.

    Returns
    -------
    (Path, int)
        ``dest`` and the number of invalid byte sequences replaced (0 for a clean file).

    Raises
    ------
    InputError
        If the codec fails otherwise (e.g. UTF-16 without a byte-order mark).
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    offset = replaced = 0
    held = ""  # a CR at a chunk's end, until the next chunk says whether LF follows
    with open_binary(path, compression) as src, open(dest, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeError as exc:
                raise InputError(
                    f"could not decode {source} as {encoding} after byte {offset:,}: {exc}; "
                    f"pass the right encoding= (e.g. 'gb18030', 'utf-8', 'cp1252', "
                    f"'utf-16-le'; CLI --encoding)."
                ) from exc
            replaced += text.count("\ufffd")
            if unify_newlines:
                text = held + text
                held = "\r" if text.endswith("\r") and chunk else ""
                text = (text[:-1] if held else text).replace("\r\n", "\n")
            dst.write(text)
            if not chunk:
                break
            offset += len(chunk)
    return dest, replaced


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of the bytes of ``path`` as stored (compressed or not)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
