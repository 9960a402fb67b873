"""Renderers: DeploymentSpec → plain manifest dicts (KServe + Kubernetes) or Helm values."""
