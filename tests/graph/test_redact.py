"""redact_secrets masks credentials wherever a header, parameter or field carries them;
clip_text caps a text and says how much it left out."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from voicegraph.graph import clip_text, redact_secrets

NAMES = [
    "xi-api-key", "XI-API-KEY", "xi_api_key", "x-goog-api-key", "X-Goog-Api-Key", "api_key",
    "apiKey", "api-key", "key", "token", "access_token", "Authorization", "proxy-authorization",
    "api_secret", "client_secret", "password", "cookie", "x-api-key",
]  # fmt: skip
# How a credential appears: a header line, a query parameter, a dict / JSON / header-list repr.
LAYOUTS = [
    "> {name}: {key}\n",
    "GET /v1/models?{name}={key}&alt=sse",
    "GET /v1/models?a=1&{name}={key}",
    "{{'{name}': '{key}', 'host': 'x'}}",
    '{{"{name}": "{key}"}}',
    "[(b'{name}', b'{key}'), (b'host', b'x')]",
    "{name}={key}; Path=/",
    "{name}: Bearer {key}",
]
KEYS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+/=",
    min_size=8,
    max_size=64,
)


@given(name=st.sampled_from(NAMES), layout=st.sampled_from(LAYOUTS), key=KEYS)
def test_a_credential_in_any_layout_is_masked(name: str, layout: str, key: str) -> None:
    text = layout.format(name=name, key=key)
    assume(key not in layout.format(name=name, key=""))  # the key is not also other text
    redacted = redact_secrets(text)
    assert key not in redacted
    assert name in redacted  # what the masked value was stays readable


@given(key=st.from_regex(r"AIza[0-9A-Za-z_-]{35}", fullmatch=True))
def test_a_google_shaped_key_is_masked_anywhere(key: str) -> None:
    assert key not in redact_secrets(f"request {key} was rejected")


def test_values_of_secret_environment_variables_are_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "s3cr3t-value-123")
    monkeypatch.setenv("MY_API_KEY_SHORT", "abc")  # too short to mask safely
    assert redact_secrets("sent s3cr3t-value-123 to abc") == "sent *** to abc"


def test_ordinary_text_is_left_alone() -> None:
    text = "prompt_tokens: 12, monkey: 3, the key was rejected (HTTP 401)"
    assert redact_secrets(text) == text


@given(text=st.text(max_size=300), limit=st.integers(min_value=0, max_value=200))
def test_clip_text_keeps_the_start_and_counts_the_rest(text: str, limit: int) -> None:
    clipped = clip_text(text, limit)
    if len(text) <= limit:
        assert clipped == text
    else:
        assert clipped == f"{text[:limit]}… ({len(text) - limit} more characters)"
