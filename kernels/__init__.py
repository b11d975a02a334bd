"""Compiled kernels: the scalar model updates and the loops that run them (CPU and CUDA)."""
