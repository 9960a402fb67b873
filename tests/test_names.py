import re

from hypothesis import given, strategies as st

from aimgen.names import MAX_ISVC_NAME, dns_label, model_name

DNS1123 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@given(st.text(min_size=0, max_size=300))
def test_any_text_becomes_a_valid_label(text):
    name = dns_label(text)
    assert DNS1123.match(name) and len(name) <= 63


@given(st.text(min_size=1, max_size=200))
def test_model_names_fit_kserve(text):
    name = model_name(text)
    assert DNS1123.match(name) and len(name) <= MAX_ISVC_NAME


def test_cut_names_are_hashed_and_distinct():
    a = dns_label("x" * 80 + "a")
    b = dns_label("x" * 80 + "b")
    assert a != b and len(a) == 63 and len(b) == 63


def test_model_name_keeps_short_ids():
    assert model_name("Qwen/Qwen3-8B") == "qwen3-8b"
    assert model_name("meta-llama/Llama-3.1-8B-Instruct") == "llama-3-1-8b-instruct"
