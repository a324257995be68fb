"""Capture preparation: photos or a video in, a posed scene folder out (pycolmap SfM)."""
