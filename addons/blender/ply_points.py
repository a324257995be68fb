"""Vertices and colours of a point cloud PLY (ascii or binary, no bpy, no numpy)."""
from __future__ import annotations

import struct
from pathlib import Path

_TYPES = {
    "char": "b", "int8": "b", "uchar": "B", "uint8": "B", "short": "h", "int16": "h",
    "ushort": "H", "uint16": "H", "int": "i", "int32": "i", "uint": "I", "uint32": "I",
    "float": "f", "float32": "f", "double": "d", "float64": "d",
}


def read_ply_points(path: str | Path) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    """(positions, colours in [0, 1]) of the ``vertex`` element; colours are empty when the
    file has none. Other elements (faces) after the vertices are ignored."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header") + len(b"end_header")
    end = data.index(b"\n", end) + 1
    header = data[:end].decode("ascii", "replace").splitlines()
    fmt, count, props, in_vertex = "ascii", 0, [], False
    for line in header:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            in_vertex = parts[1] == "vertex"
            if in_vertex:
                count = int(parts[2])
            elif count and props:
                break  # the vertex element is done
        elif parts[0] == "property" and in_vertex:
            if parts[1] == "list":
                raise ValueError(f"{path}: list properties in the vertex element are not supported")
            props.append((parts[2], _TYPES[parts[1]]))
    names = [name for name, _ in props]
    if fmt == "ascii":
        rows = [tuple(float(v) for v in line.split()) for line in data[end:].decode("ascii").splitlines()[:count]]
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        record = struct.Struct(order + "".join(code for _, code in props))
        rows = list(record.iter_unpack(data[end:end + record.size * count]))
    xyz = [names.index(k) for k in ("x", "y", "z")]
    positions = [(float(r[xyz[0]]), float(r[xyz[1]]), float(r[xyz[2]])) for r in rows]
    colors: list[tuple[float, float, float]] = []
    if all(k in names for k in ("red", "green", "blue")):
        rgb = [names.index(k) for k in ("red", "green", "blue")]
        scale = 255.0 if dict(props)["red"] in "bBhHiI" else 1.0
        colors = [(r[rgb[0]] / scale, r[rgb[1]] / scale, r[rgb[2]] / scale) for r in rows]
    return positions, colors


def srgb_to_linear(value: float) -> float:
    """One sRGB-encoded channel in [0, 1] to scene-linear (what float colour attributes hold):
    PLY colours are sRGB bytes, as Blender's own PLY importer assumes."""
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
