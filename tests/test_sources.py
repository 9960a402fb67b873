"""Model sources checked at the CLI edge (aimgen.sources): the Hub mirror; the chart's schema applies the same rule."""

from __future__ import annotations

import json

import jsonschema
import pytest

from aimgen.errors import UsageError
from aimgen.sources import hub_egress_ports, hub_endpoint, hub_port
from chart_support import CHART

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
GOOD = ["https://hf-mirror.example.com", "http://mirror.local:8080/hf", "http://10.0.0.5:3128", "http://[fd00::1]:8080",
        "https://hub.example.com/api/mirror/"]
BAD = ["hf-mirror.example.com", "ftp://mirror", "https://mirror/?x=1", "https://mirror/#f", "https://mirror:0",
       "https://mirror:65536", "https://user:pw@mirror", "https://hf_abcdefghijklmnopqrstuvwxyz@mirror",
       "https://mirror/hf_abcdefghijklmnopqrstuvwxyz", "https://mir ror", "javascript:alert(1)"]


@pytest.mark.parametrize("url", GOOD)
def test_a_plain_http_url_is_kept_and_the_chart_accepts_it(url):
    assert hub_endpoint(url) == url.rstrip("/")
    jsonschema.validate({"huggingface": {"endpoint": url, "tokenSecret": {"name": "", "key": "token"}}},
                        {**SCHEMA, "required": []})


@pytest.mark.parametrize("url", BAD)
def test_anything_else_is_a_usage_error_and_the_chart_refuses_it_too(url):
    with pytest.raises(UsageError) as err:
        hub_endpoint(url)
    assert "hf_abc" not in err.value.message and ":pw@" not in err.value.message  # never echoed
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"huggingface": {"endpoint": url, "tokenSecret": {"name": "", "key": "token"}}},
                            {**SCHEMA, "required": []})


def test_ports_out_are_the_mirrors_and_443_for_redirects():
    assert hub_port(None) == 443 and hub_egress_ports(None) == [443]
    assert hub_port("http://m") == 80 and hub_egress_ports("http://m") == [80, 443]
    assert hub_egress_ports("https://m:8443/x") == [443, 8443]
    assert hub_port("http://[fd00::1]") == 80 and hub_port("http://[fd00::1]:81") == 81


def test_explain_takes_the_same_source_options(cli):
    code, _, err = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--hf-endpoint", "ftp://mirror")
    assert code == 2 and "--hf-endpoint 'ftp://mirror'" in err
    code, out, err = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--model-source", "pvc://models/qwen3",
                         "--hf-endpoint", "https://hf-mirror.internal", "--json")
    assert code == 0, err
    code, _, err = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--model-source", "gs://b/x")
    assert code == 2 and "expected pvc://CLAIM[/PATH]" in err
    code, out, err = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--local-model-cache", "/mnt/nvme")
    assert code == 0 and "/mnt/models" in out, err  # the engine's args as render writes them
