"""How traffic from outside the namespace reaches each model: a Kubernetes Ingress or a Gateway API HTTPRoute
to KServe's predictor Service. One object per model; with several models each gets <name>.<host>."""

from __future__ import annotations

from aimgen.constants import API_LLMISVC, GATEWAY_V1
from aimgen.names import dns_label
from aimgen.render import k8s
from aimgen.spec import DeploymentSpec, ServingSpec

# KServe's RawDeployment Service for an InferenceService: <name>-predictor, port 80 → the serving port.
PREDICTOR_PORT = 80


def predictor_service(svc: ServingSpec) -> str:
    return dns_label(f"{svc.name}-predictor")


def public_host(spec: DeploymentSpec, svc: ServingSpec, host: str) -> str:
    return f"{svc.name}.{host}" if len(spec.services) > 1 else host


def ingress(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    e = spec.exposure
    host = public_host(spec, svc, e.ingress_host)
    body: dict = {}
    if e.ingress_class:
        body["ingressClassName"] = e.ingress_class
    if e.tls_secret:
        body["tls"] = [{"hosts": [host], "secretName": e.tls_secret}]
    body["rules"] = [{
        "host": host,
        "http": {"paths": [{
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": predictor_service(svc), "port": {"number": PREDICTOR_PORT}}},
        }]},
    }]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": k8s.metadata(spec, dns_label(f"{svc.name}-ingress"), "ingress", svc.name),
        "spec": body,
    }


def http_route(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    e = spec.exposure
    gateway, gateway_ns = e.gateway
    parent = {"name": gateway}
    if gateway_ns:
        parent["namespace"] = gateway_ns
    body: dict = {"parentRefs": [parent]}
    if e.ingress_host:
        body["hostnames"] = [public_host(spec, svc, e.ingress_host)]
    body["rules"] = [{
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [{"name": predictor_service(svc), "port": PREDICTOR_PORT}],
    }]
    return {
        "apiVersion": GATEWAY_V1,
        "kind": "HTTPRoute",
        "metadata": k8s.metadata(spec, dns_label(f"{svc.name}-route"), "route", svc.name),
        "spec": body,
    }


def render(spec: DeploymentSpec) -> list[dict]:
    """An HTTPRoute per model when a Gateway is named (its hostname from ingress_host), else an Ingress per model
    when ingress_host is set, else nothing."""
    e = spec.exposure
    if spec.api == API_LLMISVC:
        return []  # the LLMInferenceService's router attaches its own HTTPRoute to the Gateway (render/llmisvc.py)
    if e.gateway:
        return [http_route(spec, svc) for svc in spec.services]
    if e.ingress_host:
        return [ingress(spec, svc) for svc in spec.services]
    return []
