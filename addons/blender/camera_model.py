"""Pinhole intrinsics <-> Blender camera settings (no bpy).

Intrinsics are in pixels, principal point measured from the image's top-left corner, +y down
(transforms.json's ``fl_x fl_y cx cy w h``). A Blender camera frames the image through a sensor
of ``sensor_width``/``sensor_height`` mm fitted along one image side (``sensor_fit``), a focal
length ``lens`` in mm, and a lens shift in units of the fitted side (``viewfac``); the AUTO fit spans ``sensor_width`` along the longer side. Non-square
pixels (``fl_x != fl_y``) go to the scene's pixel aspect, which Blender keeps per scene.

Blender's view plane (BKE_camera_params_compute_viewplane): for a horizontal fit one image
pixel spans ``sensor_width / (lens * w)`` at unit depth, a vertical pixel ``ycor`` times that
(``ycor = pixel_aspect_y / pixel_aspect_x``), and the plane moves by ``shift * viewfac`` with
``viewfac = w`` (horizontal fit) or ``ycor * h`` (vertical fit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SENSOR_MM = 36.0


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera in pixels: focal lengths, principal point (top-left origin, +y down), size."""

    fl_x: float
    fl_y: float
    cx: float
    cy: float
    w: int
    h: int


@dataclass(frozen=True)
class CameraSettings:
    """What Blender needs to frame ``Intrinsics``: camera data fields plus scene render fields."""

    lens: float  # mm
    sensor_width: float  # mm
    sensor_height: float  # mm
    sensor_fit: str  # "HORIZONTAL" or "VERTICAL" ("AUTO" accepted on the way back)
    shift_x: float  # fraction of viewfac
    shift_y: float
    resolution_x: int  # px
    resolution_y: int
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0


def pixel_aspect(fl_x: float, fl_y: float, tolerance: float = 1e-6) -> tuple[float, float]:
    """Blender's (pixel_aspect_x, pixel_aspect_y), both >= 1, whose ratio y/x equals fl_x/fl_y."""
    ycor = fl_x / fl_y
    if abs(ycor - 1.0) <= tolerance:
        return 1.0, 1.0
    return (1.0, ycor) if ycor > 1.0 else (1.0 / ycor, 1.0)


def _fits_horizontally(fit: str, w: int, h: int, aspect_x: float, aspect_y: float) -> bool:
    if fit == "HORIZONTAL":
        return True
    if fit == "VERTICAL":
        return False
    return aspect_x * w >= aspect_y * h  # AUTO: the longer side, as Blender decides it


def camera_from_intrinsics(k: Intrinsics, sensor_mm: float = SENSOR_MM) -> CameraSettings:
    """Blender camera settings that reproduce ``k`` exactly (the sensor spans the longer side)."""
    if k.w <= 0 or k.h <= 0 or k.fl_x <= 0 or k.fl_y <= 0:
        raise ValueError(f"invalid intrinsics {k}")
    ax, ay = pixel_aspect(k.fl_x, k.fl_y)
    ycor = ay / ax
    if _fits_horizontally("AUTO", k.w, k.h, ax, ay):
        fit, viewfac = "HORIZONTAL", float(k.w)
        lens = k.fl_x * sensor_mm / k.w
        sensor_w, sensor_h = sensor_mm, sensor_mm * ay * k.h / (ax * k.w)
    else:
        fit, viewfac = "VERTICAL", ycor * k.h
        lens = k.fl_y * sensor_mm / k.h
        sensor_w, sensor_h = sensor_mm * ax * k.w / (ay * k.h), sensor_mm
    return CameraSettings(
        lens=lens, sensor_width=sensor_w, sensor_height=sensor_h, sensor_fit=fit,
        shift_x=(0.5 * k.w - k.cx) / viewfac, shift_y=(k.cy - 0.5 * k.h) * ycor / viewfac,
        resolution_x=int(k.w), resolution_y=int(k.h), pixel_aspect_x=ax, pixel_aspect_y=ay,
    )


def intrinsics_from_camera(c: CameraSettings) -> Intrinsics:
    """The pinhole intrinsics (pixels) that Blender renders with settings ``c``."""
    w, h = int(c.resolution_x), int(c.resolution_y)
    ax, ay = c.pixel_aspect_x, c.pixel_aspect_y
    ycor = ay / ax
    sensor = c.sensor_height if c.sensor_fit == "VERTICAL" else c.sensor_width  # AUTO uses the width
    if _fits_horizontally(c.sensor_fit, w, h, ax, ay):
        viewfac = float(w)
        fl_x = c.lens * w / sensor
        fl_y = fl_x / ycor
    else:
        viewfac = ycor * h
        fl_y = c.lens * h / sensor
        fl_x = fl_y * ycor
    return Intrinsics(
        fl_x=fl_x, fl_y=fl_y, cx=0.5 * w - c.shift_x * viewfac, cy=0.5 * h + c.shift_y * viewfac / ycor, w=w, h=h,
    )


def focal_from_angle(angle: float, size: int) -> float:
    """Focal length in pixels from a full field of view ``angle`` (radians) across ``size`` px."""
    return 0.5 * size / math.tan(0.5 * angle)


def angle_from_focal(focal: float, size: int) -> float:
    """Full field of view (radians) across ``size`` px for a focal length in pixels."""
    return 2.0 * math.atan(0.5 * size / focal)
