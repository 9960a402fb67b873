"""The syntax rules the Kubernetes API server applies to the values aimgen writes, restated once.

The JSON schemas only say "string"; the rules live in Go. Each function names the Go function it restates and
returns why a value breaks it (a phrase that says what would be valid) or None. Two callers:
- input checking (CLI options, node pool files) refuses a bad value before anything is rendered;
- `manifest_problems` reports the same rules as findings on any manifest (`aimgen validate` of edited files).

Sources (Kubernetes v1.34):
- k8s.io/apimachinery/pkg/util/validation/validation.go: IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label,
  IsWildcardDNS1123Subdomain, IsQualifiedName, IsValidLabelValue, IsValidIP, IsConfigMapKey
- k8s.io/apimachinery/pkg/api/resource/quantity.go: ParseQuantity
- k8s.io/kubernetes/pkg/apis/core/validation/validation.go: ValidateTolerations, ValidatePodSpec (nodeSelector
  via ValidateLabels, priorityClassName via ValidatePriorityClassName), ValidatePersistentVolumeClaimSpec
  (storageClassName via ValidateClassName; storage request "must be greater than zero")
- k8s.io/kubernetes/pkg/apis/networking/validation/validation.go: ValidateIngressSpec (ingressClassName),
  validateIngressTLS (hosts, secretName via ValidateSecretName), validateIngressRules ("must be a DNS name,
  not an IP address"; wildcard only as the whole first label)
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

LABEL_MAX = 63
SUBDOMAIN_MAX = 253

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
# resource.ParseQuantity: a signed decimal number, then a binary or decimal suffix or an exponent.
_QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?(\d+(\.\d*)?|\.\d+))?")

TOLERATION_OPERATORS = ("Exists", "Equal")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

SUBDOMAIN_RULE = "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric"
LABEL_VALUE_RULE = (f"empty or 1-{LABEL_MAX} characters of letters, digits, '-', '_' or '.', "
                    "starting and ending alphanumeric")


def dns1123_label(value: str) -> str | None:
    """IsDNS1123Label: namespaces, Service names."""
    if len(value) > LABEL_MAX:
        return f"is {len(value)} characters, at most {LABEL_MAX} allowed"
    if not _DNS1123_LABEL.fullmatch(value):
        return "must be a DNS-1123 label: lowercase letters, digits and '-', alphanumeric at both ends"
    return None


def dns1035_label(value: str) -> str | None:
    """IsDNS1035Label: names that prefix Services and hostnames (KServe's InferenceService webhook)."""
    if len(value) > LABEL_MAX:
        return f"is {len(value)} characters, at most {LABEL_MAX} allowed"
    if not _DNS1035_LABEL.fullmatch(value):
        return "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending alphanumeric"
    return None


def dns1123_subdomain(value: str) -> str | None:
    """IsDNS1123Subdomain: object names (NameIsDNSSubdomain) such as Secrets, StorageClasses, PriorityClasses,
    IngressClasses and claims."""
    if len(value) > SUBDOMAIN_MAX:
        return f"is {len(value)} characters, at most {SUBDOMAIN_MAX} allowed"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return f"must be {SUBDOMAIN_RULE}"
    return None


def qualified_name(value: str) -> str | None:
    """IsQualifiedName: label and annotation keys, taint keys: [DNS-subdomain prefix '/'] name (≤ 63)."""
    prefix, slash, name = value.rpartition("/")
    if slash and (not prefix or dns1123_subdomain(prefix)):
        return "prefix before '/' must be a DNS-1123 subdomain (e.g. 'example.com/name')"
    if not name or len(name) > LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(name):
        return (f"name part must be 1-{LABEL_MAX} characters of letters, digits, '-', '_' or '.', "
                "starting and ending alphanumeric")
    return None


def label_value(value: str) -> str | None:
    """IsValidLabelValue: label values, nodeSelector values, toleration values."""
    if value and (len(value) > LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(value)):
        return f"must be {LABEL_VALUE_RULE}"
    return None


def secret_key(value: str) -> str | None:
    """IsConfigMapKey: a key inside a Secret or ConfigMap."""
    if len(value) > SUBDOMAIN_MAX or value in (".", "..") or not re.fullmatch(r"[-._a-zA-Z0-9]+", value):
        return f"must be 1-{SUBDOMAIN_MAX} characters of letters, digits, '-', '_' or '.' (not '.' or '..')"
    return None


def host(value: str) -> str | None:
    """A host of an Ingress rule or TLS entry, or an HTTPRoute hostname: a DNS name, optionally '*.' + one,
    never an IP address, a URL or a port."""
    if "://" in value or "/" in value or ":" in value:
        return "must be a host name such as llm.example.com: no scheme, port or path"
    if _is_ip(value):
        return "must be a DNS name, not an IP address"
    name = value[2:] if value.startswith("*.") else value
    if "*" in name:
        return "may hold '*' only as its whole first label ('*.example.com')"
    problem = dns1123_subdomain(name)
    return f"{problem} (optionally after '*.')" if problem else None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def quantity(value: str, *, positive: bool = False) -> str | None:
    """resource.ParseQuantity (and ValidateResourceQuantityValue: never negative; a claim's storage > 0)."""
    if not _QUANTITY.fullmatch(value):
        return "must be a Kubernetes quantity such as 500Gi, 2Ti, 8 or 500m"
    number = float(re.match(r"[+-]?(\d+(\.\d*)?|\.\d+)", value).group(0))
    if number < 0:
        return "must not be negative"
    if positive and number == 0:
        return "must be greater than zero"
    if _quantity_value(value) > INT64_MAX:
        # Quantity.Value() is an int64: the scheduler, kubelet and CSI drivers read a larger request as garbage.
        return "is larger than Kubernetes can count (less than 8Ei: 2^63-1 base units)"
    return None


INT64_MAX = 2**63 - 1
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def _quantity_value(value: str) -> float:
    """The quantity's value in base units, approximately (enough to compare with INT64_MAX)."""
    number, suffix = re.fullmatch(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)", value).groups()
    if suffix not in _SUFFIX:  # an exponent: 1e30, 5E3
        return float(number + suffix)
    return float(number) * _SUFFIX[suffix]


def toleration(t: Any) -> Iterator[tuple[str, str]]:
    """ValidateTolerations: (field, why) for each rule the toleration breaks."""
    if not isinstance(t, dict):
        yield "", "must be a mapping with key, operator, value, effect"
        return
    key, operator, value = t.get("key") or "", t.get("operator") or "", t.get("value") or ""
    effect = t.get("effect") or ""
    if key and (problem := qualified_name(str(key))):
        yield "key", f"{key!r}: a taint key {problem}"
    if not key and operator != "Exists":
        yield "operator", "must be Exists when key is empty (an empty key tolerates every taint); give a key"
    if operator not in ("", *TOLERATION_OPERATORS):
        yield "operator", f"{operator!r} is not one of: {', '.join(TOLERATION_OPERATORS)}"
    elif operator == "Exists" and value:
        yield "value", f"{value!r}: must be empty when operator is Exists (use Equal to match a value)"
    elif operator != "Exists" and (problem := label_value(str(value))):
        yield "value", f"{value!r}: {problem}"
    if effect and effect not in TAINT_EFFECTS:
        yield "effect", f"{effect!r} is not one of: {', '.join(TAINT_EFFECTS)} (or empty for all)"
    if t.get("tolerationSeconds") is not None and effect != "NoExecute":
        yield "tolerationSeconds", "only applies with effect NoExecute"


def node_selector(selector: Any) -> Iterator[tuple[str, str]]:
    """ValidateLabels over a nodeSelector: qualified keys, label values."""
    if not isinstance(selector, dict):
        return
    for key, value in selector.items():
        if problem := qualified_name(str(key)):
            yield f"[{key!r}]", f"label key {key!r}: {problem}"
        if not isinstance(value, str):
            yield f"[{key!r}]", f"{value!r}: a label value is a string"
        elif problem := label_value(value):
            yield f"[{key!r}]", f"{value!r}: a label value {problem}"


# ---- the same rules over manifests ----

def _named(value: Any, rule) -> str | None:
    return rule(value) if isinstance(value, str) else None


def _amount(value: Any, *, positive: bool = False) -> str | None:
    """A quantity's sign and size; its syntax is the Kubernetes schema's finding (K8S001), not repeated."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        return None
    return quantity(value, positive=positive)


def _pod_spec_problems(pod: dict, at: str) -> Iterator[tuple[str, str]]:
    for path, problem in node_selector(pod.get("nodeSelector")):
        yield f"{at}nodeSelector{path}", problem
    for i, t in enumerate(pod.get("tolerations") or []):
        for field, problem in toleration(t):
            yield f"{at}tolerations[{i}]{'.' + field if field else ''}", problem
    name = pod.get("priorityClassName")
    if name and (problem := _named(name, dns1123_subdomain)):
        yield f"{at}priorityClassName", f"{name!r} {problem}"
    for group in ("containers", "initContainers"):
        for i, c in enumerate(pod.get(group) or []):
            yield from _resources(c, f"{at}{group}[{i}]")
    if isinstance(pod.get("model"), dict):  # KServe's predictor: the model container sits inline
        yield from _resources(pod["model"], f"{at}model")


def _resources(container: Any, at: str) -> Iterator[tuple[str, str]]:
    resources = container.get("resources") if isinstance(container, dict) else None
    for section in ("requests", "limits"):
        amounts = (resources or {}).get(section)
        for name, amount in (amounts or {}).items() if isinstance(amounts, dict) else ():
            if problem := _amount(amount):
                yield f"{at}.resources.{section}[{name!r}]", f"{amount!r} {problem}"


def _ingress_problems(spec: dict) -> Iterator[tuple[str, str]]:
    name = spec.get("ingressClassName")
    if name and (problem := _named(name, dns1123_subdomain)):
        yield "spec.ingressClassName", f"{name!r} {problem}"
    for i, tls in enumerate(spec.get("tls") or []):
        secret = tls.get("secretName") if isinstance(tls, dict) else None
        if secret and (problem := _named(secret, dns1123_subdomain)):
            yield f"spec.tls[{i}].secretName", f"{secret!r} {problem}"
        for j, h in enumerate(tls.get("hosts") or [] if isinstance(tls, dict) else []):
            if problem := _named(h, host):
                yield f"spec.tls[{i}].hosts[{j}]", f"{h!r} {problem}"
    for i, rule in enumerate(spec.get("rules") or []):
        h = rule.get("host") if isinstance(rule, dict) else None
        if h and (problem := _named(h, host)):
            yield f"spec.rules[{i}].host", f"{h!r} {problem}"


def _pvc_problems(spec: dict) -> Iterator[tuple[str, str]]:
    name = spec.get("storageClassName")
    if name and (problem := _named(name, dns1123_subdomain)):
        yield "spec.storageClassName", f"{name!r} {problem}"
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if problem := _amount(storage, positive=True):
        yield "spec.resources.requests.storage", f"{storage!r} {problem}"


def _pod_specs(kind: str, spec: dict) -> Iterator[tuple[str, dict]]:
    """Where a kind keeps its pod spec(s), as (path prefix, pod spec)."""
    if kind == "Pod":
        yield "spec.", spec
    elif kind in ("Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        template = (spec.get("template") or {}).get("spec")
        if isinstance(template, dict):
            yield "spec.template.spec.", template
    elif kind == "InferenceService":
        for component in ("predictor", "transformer", "explainer"):
            if isinstance(spec.get(component), dict):
                yield f"spec.{component}.", spec[component]
    elif kind in ("ServingRuntime", "ClusterServingRuntime"):
        yield "spec.", spec


def manifest_problems(doc: dict) -> Iterator[tuple[str, str]]:
    """(field path, why) for each value of a manifest the API server would refuse by the rules above.
    Metadata is objectmeta.py's; types and shapes are the schemas'."""
    kind, spec = doc.get("kind"), doc.get("spec")
    if not isinstance(spec, dict):
        return
    for at, pod in _pod_specs(str(kind), spec):
        yield from _pod_spec_problems(pod, at)
    if kind == "Ingress":
        yield from _ingress_problems(spec)
    elif kind == "PersistentVolumeClaim":
        yield from _pvc_problems(spec)
    elif kind == "HTTPRoute":
        for i, h in enumerate(spec.get("hostnames") or []):
            if problem := _named(h, host):
                yield f"spec.hostnames[{i}]", f"{h!r} {problem}"
