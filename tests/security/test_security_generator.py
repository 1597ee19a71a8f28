import math
import string

import pytest

from console.security import generator
from console.security.generator import GeneratedPassword, alphabet_for, generate
from console.security.policy import PRESETS, Policy, check, failures

PERSON = dict(username="mweber", email="m.weber@example.org", display_name="Marta Weber")
UNSAFE = set(" '\"`\\")


def _expected_bits(length, alphabet):
    return math.floor(length * math.log2(len(alphabet)) * 10) / 10


@pytest.mark.parametrize("name", list(PRESETS))
def test_thousand_generated_passwords_pass_their_preset(name):
    policy = PRESETS[name]
    alphabet = alphabet_for(policy)
    seen = set()
    for _ in range(1000):
        g = generate(policy, **PERSON)
        pw = g.password
        assert failures(check(policy, pw, **PERSON)) == []
        assert not pw.startswith("-")
        assert not (set(pw) & UNSAFE)
        assert set(pw) <= set(alphabet)
        assert policy.min_length <= len(pw) <= policy.max_length
        assert g.entropy_bits == _expected_bits(len(pw), alphabet)
        assert g.entropy_bits >= 192  # every preset's maximum can hold 192 bits
        seen.add(pw)
    assert len(seen) == 1000


@pytest.mark.parametrize("name", ["nist", "milvus", "auth0-good", "auth0-excellent"])
def test_length_is_minimal_for_192_bits(name):
    policy = PRESETS[name]
    g = generate(policy)
    bits = math.log2(len(alphabet_for(policy)))
    assert len(g.password) == max(policy.min_length, math.ceil(192 / bits))
    assert (len(g.password) - 1) * bits < 192


@pytest.mark.parametrize("name", ["dcs", "gaussdb"])
def test_restricted_alphabets(name):
    policy = PRESETS[name]
    alphabet = alphabet_for(policy)
    specials = set(alphabet) - set(string.ascii_letters + string.digits)
    assert specials and specials <= set(policy.allowed_specials) - UNSAFE
    g = generate(policy)
    assert len(g.password) <= policy.max_length
    assert g.entropy_bits == _expected_bits(len(g.password), alphabet)


def test_length_capped_at_max_when_max_cannot_hold_min_bits():
    for name in ("dcs", "gaussdb"):
        policy = PRESETS[name]
        g = generate(policy, min_bits=256)
        assert len(g.password) == policy.max_length == 32
        assert g.entropy_bits == _expected_bits(32, alphabet_for(policy))
        assert g.entropy_bits < 256
        assert failures(check(policy, g.password)) == []


def test_length_raised_to_min_length():
    policy = PRESETS["nist"].with_overrides(min_length=50)
    g = generate(policy)
    assert len(g.password) == 50


def test_default_specials_when_policy_names_none():
    alphabet = alphabet_for(PRESETS["nist"])
    assert set(alphabet) == set(string.ascii_letters + string.digits + "!#%+-=?@^_~")
    assert set(alphabet_for(PRESETS["auth0-good"])) == set(string.ascii_letters + string.digits + "!@#$%^&*")


def test_allowed_specials_limit_the_alphabet():
    policy = Policy("p", 8, 64, min_classes=4, allowed_specials="-_", class_specials="-_!?")
    assert set(alphabet_for(policy)) == set(string.ascii_letters + string.digits + "-_")
    for _ in range(50):
        pw = generate(policy).password
        assert set(pw) & set("-_") and not pw.startswith("-")


def test_never_starts_with_hyphen_even_when_policy_allows(monkeypatch):
    policy = Policy("hyphens", 8, 8, allowed_specials="-", min_classes=0, history=0)
    it = iter("-" + "a" * 7 + "b-cdefgh")
    monkeypatch.setattr(generator.secrets, "choice", lambda seq: next(it))
    g = generate(policy)
    assert g.password == "b-cdefgh"


def test_impossible_policy_raises():
    policy = Policy("impossible", 4, 4, min_classes=4, allowed_specials="")
    with pytest.raises(RuntimeError, match="could not generate a password satisfying policy impossible"):
        generate(policy)


def test_repr_hides_password():
    g = generate(PRESETS["nist"])
    for text in (repr(g), str(g), f"{g}", repr([g])):
        assert g.password not in text
        assert "<hidden>" in text
    assert repr(g) == f"GeneratedPassword(<hidden>, {g.entropy_bits} bits)"
    assert isinstance(g, GeneratedPassword)
