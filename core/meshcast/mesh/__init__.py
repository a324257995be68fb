"""Mesh files: writing PLY, OBJ (+MTL, texture), GLB and USD; reading for metrics."""
