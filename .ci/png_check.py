#!/usr/bin/env python3
"""Checks a screenshot is not blank: counts non-white pixels and pixels of the report's
first line colour (#0072B2) in a PNG (8-bit RGB/RGBA, as Chromium writes), with only
the standard library. Usage: png_check.py FILE MIN_NONWHITE_FRACTION MIN_LINE_PIXELS"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"{path}: PNG depth {depth} colour type {colour} not handled"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += n + 12
    raw, stride, prev, rows = zlib.decompress(idat), width * channels, None, []
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        prev = prev or bytearray(stride)
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def main():
    path, min_frac, min_line = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    w, h, ch, rows = pixels(path)
    nonwhite = line = 0
    for row in rows:
        for x in range(0, w * ch, ch):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if r < 245 or g < 245 or b < 245:
                nonwhite += 1
            if abs(r - 0) < 30 and abs(g - 114) < 30 and abs(b - 178) < 30:
                line += 1
    frac = nonwhite / (w * h)
    print(f"{path}: {w}x{h}, {frac:.1%} non-white pixels, {line} pixels of the line colour #0072B2")
    if frac < min_frac or line < min_line:
        sys.exit(f"{path}: looks blank (need >= {min_frac:.1%} non-white and >= {min_line} line-colour pixels)")


main()
