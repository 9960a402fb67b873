"""aimgen: compile LLM serving recipes into KServe manifests and Helm values for AMD Instinct GPUs."""

__version__ = "0.1.0"
