"""Rays, volume rendering (NeuS and NeRF), sampling and the occupancy grid."""
