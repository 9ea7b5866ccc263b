"""A small PNG reader and writer (zlib + struct), so tests can check real pixels and a fake
renderer can hand out real PNGs, without adding Pillow."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.channels
        return tuple(self.rows[y][i : i + 3])  # type: ignore[return-value]


def close_to(
    actual: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 6
) -> bool:
    """Colours as Chromium paints them: exact up to a little colour-management rounding."""
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def solid(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A valid ``width`` x ``height`` 8-bit RGB PNG of one colour (a few kilobytes at 1280x800:
    one repeated row compresses to almost nothing)."""
    row = b"\x00" + bytes(colour) * width  # filter type 0, then the pixels
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(row * height)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def header(data: bytes) -> tuple[int, int]:
    """Width and height from IHDR; fails on anything that is not a PNG."""
    assert data[:8] == SIGNATURE, "not a PNG (bad signature)"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "first chunk is not IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decode(data: bytes) -> Image:
    """8-bit RGB/RGBA, non-interlaced: what Chromium writes."""
    width, height = header(data)
    pos, idat = 8, []
    bit_depth = colour_type = interlace = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            bit_depth, colour_type, _, _, interlace = struct.unpack(">BBBBB", body[8:13])
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert bit_depth == 8 and colour_type in (2, 6) and interlace == 0, "unexpected PNG format"
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    assert len(raw) == height * (stride + 1), "image data has the wrong size"
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if ftype == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        else:
            assert ftype == 0, f"unknown filter {ftype}"
        rows.append(bytes(line))
        prev = line
    return Image(width, height, channels, rows)
