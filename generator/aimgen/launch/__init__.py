"""The runtime image's entrypoint: detect GPUs, choose the profile as `aimgen render` does, exec the engine."""
