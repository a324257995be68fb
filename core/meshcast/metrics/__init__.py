"""Metrics: geometry (Chamfer distance, F-score) and images (PSNR, SSIM)."""
