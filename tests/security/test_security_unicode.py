"""Unicode tricks (issue 12, item 5): a character NFKC expands, characters
that draw nothing, and names that look like other names."""

from __future__ import annotations

import pytest

from console.security import policy
from console.security.text import escape_controls, has_controls, looks_alike, normalize

NIST = policy.PRESETS["nist"]
INVISIBLE = ["\u034f", "\u3164", "\ufe0f", "\u2800", "\u115f", "\u1160", "\uffa0", "\u180e", "\u2064", "\U000e0020"]


def failing(password: str, **who) -> set[str]:
    return {r.rule for r in policy.failures(policy.check(NIST, password, **who))}


def test_length_counts_as_typed_and_as_normalised():
    assert len(normalize("\ufdfa")) == 18  # one typed character
    assert "length" in failing("\ufdfa")
    assert "length" in failing("ab\ufdfa")
    # and the other way: 15 typed characters that NFKC folds into fewer
    assert len(normalize("\u1100\u1161" * 8)) == 8
    assert "length" in failing("\u1100\u1161" * 8)


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_characters_that_draw_nothing_are_refused_everywhere(ch):
    assert has_controls(ch)
    assert "no_control" in failing(f"correct{ch}horse battery staple")
    # a list word or the user's name with one inside is still caught by a rule
    assert "no_control" in failing(f"pass{ch}wordpass{ch}word")
    assert "no_control" in failing(f"alice{ch}-and-a-long-tail", username="alice")
    assert ch not in escape_controls(f"adm{ch}in")  # shown written out, never raw


def test_ordinary_text_is_not_invisible():
    for text in ("Ana Lima", "Zoë Ñúñez", "李小龍", "Ольга", "a b", "emoji 🙂"):
        assert not has_controls(text), text


@pytest.mark.parametrize("name", ["Admin", "ADMIN", "\u0430dmin", "adrnin", "admln", "a\u034fdmin", "\u0391dmin"])
def test_look_alikes_of_admin(name):
    assert looks_alike(name, "admin")


@pytest.mark.parametrize("a,b", [("Al1ce", "alice"), ("b0b", "bob"), ("paypa1", "paypal")])
def test_digit_and_letter_look_alikes(a, b):
    assert looks_alike(a, b)


@pytest.mark.parametrize("a,b", [("alice", "bob"), ("Ana Lima", "Ana Lina"), ("eve", "Eve Adams"), ("dan", "don")])
def test_different_names_do_not_look_alike(a, b):
    assert not looks_alike(a, b)
