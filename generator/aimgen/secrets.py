"""What a credential looks like, in one place: secrets never travel through aimgen.

A token belongs in a Kubernetes Secret (render --hf-token-secret NAME[:KEY], the chart's huggingface.tokenSecret),
never in a recipe, a manifest or a log line. This module is the one rule, used by:
- the seed importer and recipe loading (`recipes import`, `recipes check`, every render): refuse, never copy;
- render: the engine argv and env a manifest would carry are checked once more before they are written;
- the chart: values.schema.json's argString / envName / safeString patterns are generated from the constants
  below by `aimgen chart sync` (so they are RE2- and Python-compatible: no look-around);
- the console and every message that prints an endpoint: `redact()` / `redact_url()`.
Messages name the flag or variable and the field, never the value.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

# An argv item whose flag name says it carries a credential, dashed or underscored: --hf-token, --hf_token,
# --api_key=..., --admin-api-key, --ssl-keyfile-password, --api-key.x (a dotted JSON field).
FLAG_PATTERN = r"(?i)^--?([a-z0-9]+[-_])*(token|api[-_]?key|passw(or)?d|secret|(access|secret)[-_]key)([=.]|$)"
# An environment variable whose name says it holds a credential: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, VLLM_API_KEY,
# S3_SECRET_ACCESS_KEY, ... (the same rule the chart has always applied to env names).
ENV_NAME_PATTERN = r"(?i)(token|secret|passw(or)?d|(api|access|secret)_?key)$"
# Token-shaped text: Hugging Face (hf_), OpenAI-style (sk-, sk-proj-), GitHub (ghp_, gho_, ...), AWS access key
# ids, Slack; and a URL carrying user:password@.
_TOKEN_SHAPES = (r"hf_[A-Za-z0-9]{20,}", r"sk-[A-Za-z0-9_-]{20,}", r"gh[pousr]_[A-Za-z0-9]{20,}",
                 r"AKIA[0-9A-Z]{16}", r"xox[abprs]-[A-Za-z0-9-]{10,}")
TOKEN_PATTERN = r"(^|[^A-Za-z0-9])(" + "|".join(_TOKEN_SHAPES) + ")"
_TOKEN_PREFIXES = ("hf_", "sk-", "gh", "AKIA", "xox")
# Starts at "://", not at the scheme: a scheme-first pattern is quadratic on a long run of letters.
CREDENTIAL_URL_PATTERN = r"://[^/@\s:]*:[^/@\s]*@"

_FLAG = re.compile(FLAG_PATTERN)
_ENV_NAME = re.compile(ENV_NAME_PATTERN)
_TOKEN = re.compile(TOKEN_PATTERN)
_CREDENTIAL_URL = re.compile(CREDENTIAL_URL_PATTERN)
# For redaction: any userinfo in a URL (a token as the user name too), and bearer headers.
_URL_USERINFO = re.compile(r"(://)[^/@\s]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")

INSTEAD = ("secrets never go into recipes or manifests: keep the token in a Kubernetes Secret and pass "
           "--hf-token-secret NAME[:KEY] (chart: huggingface.tokenSecret)")
MASK = "***"


def is_secret_flag(name: str) -> bool:
    """name: an engine flag with or without its dashes (`hf_token`, `--api-key`, `api_key.x`)."""
    head = name.strip().split("=", 1)[0].split(".", 1)[0]
    if len(head) > 128:  # the rule reads the end of the name; a huge one is cut so the regex stays quick
        head = "--" + head[-128:].lstrip("-_")
    return bool(_FLAG.search(head if head.startswith("-") else f"--{head}"))


def is_secret_env(name: str) -> bool:
    return bool(_ENV_NAME.search(name.strip()[-64:]))  # the rule reads the end of the name: a huge one stays quick


def _token_in(text: str) -> bool:
    # Substring tests first: an 8 MiB value without any token prefix costs microseconds, not a regex scan.
    return any(prefix in text for prefix in _TOKEN_PREFIXES) and bool(_TOKEN.search(text))


def looks_like_secret(text: str) -> bool:
    """A token-shaped string, or a URL with a password in it."""
    return _token_in(text) or ("://" in text and bool(_CREDENTIAL_URL.search(text)))


def secret_paths(doc: Any) -> list[tuple]:
    """Key paths of every token-shaped string (as a key or a value) in a loaded document, in document order."""
    found: list[tuple] = []
    stack: list[tuple[tuple, Any]] = [((), doc)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if looks_like_secret(item):
                found.append(path)
        elif isinstance(item, dict):
            for key, value in reversed(list(item.items())):
                if isinstance(key, str) and looks_like_secret(key):
                    found.append(path + (key,))
                stack.append((path + (key,), value))
        elif isinstance(item, (list, tuple)):
            stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(item))))
    return found


def holds_secret(value: Any) -> bool:
    return bool(secret_paths(value))


def arg_problem(name: str, value: Any = None) -> str | None:
    """Why an engine flag (name without its value) may not be kept, or None. Never quotes the value."""
    flag = name if name.startswith("-") else f"--{name}"
    if is_secret_flag(name):
        return f"{flag} carries a credential and is refused; {INSTEAD}"
    if holds_secret(value) or looks_like_secret(name):
        return f"the value of {flag} looks like a token or a URL with a password and is refused; {INSTEAD}"
    return None


def env_problem(name: str, value: Any = None) -> str | None:
    if is_secret_env(name):
        return f"{name} would hold a credential as a literal value and is refused; {INSTEAD}"
    if holds_secret(value):
        return f"the value of {name} looks like a token or a URL with a password and is refused; {INSTEAD}"
    return None


def args_env_problems(args: dict, env: dict) -> list[tuple[str, str]]:
    """(field, message) for every secret in an args mapping ({flag: value}) and an env mapping."""
    out = [(f"args.{k}", m) for k, v in args.items() if (m := arg_problem(str(k), v))]
    out += [(f"env.{k}", m) for k, v in env.items() if (m := env_problem(str(k), v))]
    return out


def argv_problem(argv: Iterable[str]) -> str | None:
    """For a finished argv (`--flag`, `value`, `--flag=value`): the first secret found, or None."""
    for item in argv:
        text = str(item)
        if is_secret_flag(text) and text.startswith("-"):
            return arg_problem(text.split("=", 1)[0])
        if looks_like_secret(text):
            flag = redact(text.split("=", 1)[0]) if text.startswith("-") else "an engine argument"
            return f"{flag}: a token-shaped value or a URL with a password is refused; {INSTEAD}"
    return None


def schema_patterns() -> dict[str, dict]:
    """The `not` clause of values.schema.json's definitions, written by `aimgen chart sync`: the chart refuses
    exactly what render refuses."""
    token = {"pattern": TOKEN_PATTERN}
    credential_url = {"pattern": CREDENTIAL_URL_PATTERN}
    return {
        "argString": {"anyOf": [{"pattern": FLAG_PATTERN}, token, credential_url]},
        "envName": {"pattern": ENV_NAME_PATTERN},
        "safeString": {"anyOf": [token, credential_url]},
        "labelValue": token,
    }


def redact_url(url: str | None) -> str:
    """The URL without its user:password@ part (None → "")."""
    from urllib.parse import urlsplit, urlunsplit  # only where a URL is printed: the CLI starts without it

    if not url:
        return ""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return redact(url)
        host = parts.hostname or ""
        netloc = f"{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
        return redact(urlunsplit(parts._replace(netloc=netloc)))
    except ValueError:  # an unparsable URL (bad port, brackets): fall back to the text rules
        return redact(url)


def redact(text: str) -> str:
    """Text as it may be printed: URL credentials, bearer tokens and token-shaped strings masked."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _TOKEN.sub(lambda m: m.group(1) + MASK, text) if _token_in(text) else text
