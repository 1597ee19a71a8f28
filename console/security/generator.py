"""Random password generator that always satisfies a policy."""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass, field

from .policy import Policy, check, failures

__all__ = ["GeneratedPassword", "generate", "alphabet_for"]

#: Specials used when the policy names none: safe in shells and easy to read.
DEFAULT_SPECIALS = "!#%+-=?@^_~"
#: Never generated: space, quotes, backtick, backslash.
_UNSAFE = frozenset(" '\"`\\")
_MAX_TRIES = 1000


@dataclass(frozen=True, repr=False)
class GeneratedPassword:
    password: str = field(repr=False)
    entropy_bits: float  # length * log2(len(alphabet)), rounded down to 0.1

    def __repr__(self) -> str:
        return f"GeneratedPassword(<hidden>, {self.entropy_bits} bits)"

    __str__ = __repr__


def alphabet_for(policy: Policy) -> str:
    """The characters :func:`generate` draws from for *policy*."""
    specials = policy.class_specials or policy.allowed_specials or DEFAULT_SPECIALS
    chars = [c for c in specials if c in string.punctuation and c not in _UNSAFE]
    if policy.allowed_specials is not None:
        chars = [c for c in chars if c in policy.allowed_specials]
    return "".join(dict.fromkeys(string.ascii_letters + string.digits + "".join(chars)))


def _floor1(x: float) -> float:
    return math.floor(x * 10) / 10


def generate(
    policy: Policy,
    *,
    min_bits: int = 192,
    username: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
) -> GeneratedPassword:
    """Generate a random password with at least *min_bits* bits that passes *policy*.

    The length is derived from the alphabet, raised to the policy minimum and
    capped at the policy maximum (then ``entropy_bits`` reports what the
    maximum allows). Never starts with ``-``.
    """
    alphabet = alphabet_for(policy)
    bits_per_char = math.log2(len(alphabet))
    length = math.ceil(min_bits / bits_per_char) if min_bits > 0 else 0
    length = min(max(length, policy.min_length), policy.max_length)
    for _ in range(_MAX_TRIES):
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if pw.startswith("-"):
            continue
        results = check(
            policy, pw, username=username, email=email, display_name=display_name
        )
        if not failures(results):
            return GeneratedPassword(pw, _floor1(length * bits_per_char))
    raise RuntimeError(f"could not generate a password satisfying policy {policy.name}")
