"""Password policy: presets and a rule-by-rule checker.

:func:`check` reports every active rule, passing or failing, in a stable order
so that a form can show a live checklist. Rule texts never contain the
password.
"""

from __future__ import annotations

import dataclasses
import re
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .blocklist import common_words, is_common
from .patterns import is_obvious, leet_readings
from .text import has_controls, normalize

if TYPE_CHECKING:  # pragma: no cover
    from .hashing import PasswordHasher

__all__ = [
    "RuleResult",
    "Policy",
    "PRESETS",
    "DEFAULT_POLICY",
    "get_policy",
    "check",
    "failures",
]

#: Rule ids in the order :func:`check` reports them.
RULE_ORDER = (
    "length",
    "no_control",
    "allowed_chars",
    "classes",
    "no_leading_hyphen",
    "max_repeat",
    "not_numeric",
    "not_personal",
    "not_common",
    "not_reused",
    "strength",
)

# zxcvbn is super-linear in the input length; only score a prefix.
_STRENGTH_MAX_CHARS = 100
# Personal values shorter than this are ignored (too many false positives).
_PERSONAL_MIN_LEN = 3
# Up to this length a password is also read back from leet-speak to look for
# personal values in it ("m4rt4" holds "marta").
_PERSONAL_LEET_MAX = 1024

# zxcvbn keeps the user inputs in a module-global dictionary: serialise calls.
_ZXCVBN_LOCK = threading.Lock()

_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)


@dataclass(frozen=True)
class RuleResult:
    rule: str  # stable id, one of RULE_ORDER
    ok: bool
    text: str  # human rule text; never contains the password
    #: False: not checked here (reuse needs the account's stored hashes: it is
    #: checked when the password is set), so ``ok`` says nothing.
    checked: bool = True


# --------------------------------------------------------------------------
# Policy


_INT_FIELDS = ("min_length", "max_length", "min_classes", "history", "expiry_days")
_OPT_INT_FIELDS = ("min_strength", "max_repeat")
_BOOL_FIELDS = ("no_leading_hyphen", "forbid_personal", "blocklist", "patterns")
_OPT_STR_FIELDS = ("allowed_specials", "class_specials")
_WORDS_FIELDS = ("context_words",)

#: As the ``password_expiry_days`` setting: a hundred years at most.
_MAX_EXPIRY_DAYS = 36500

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Policy:
    name: str
    min_length: int
    max_length: int
    min_classes: int = 0  # how many of lowercase/uppercase/digit/special (0..4)
    allowed_specials: str | None = None  # None: any non-control char allowed
    class_specials: str | None = None  # None: any non-alphanumeric char is special
    no_leading_hyphen: bool = False
    forbid_personal: bool = True
    #: Not one of the common-password list's 109,656 entries (blocklist.py).
    blocklist: bool = False
    #: Not an obvious pattern either: repeated, a sequence, a keyboard walk, a
    #: list word or a context word padded with digits and symbols (patterns.py).
    #: Reported by the same rule as the list: NIST's one blocklist requirement,
    #: GaussDB's one weak-password dictionary.
    patterns: bool = False
    #: Names of the system and service (besides "userdesk") that a password
    #: may not be made of, padded or in leet-speak.
    context_words: tuple[str, ...] = ()
    history: int = 5  # not one of the last N passwords (0 disables)
    min_strength: int | None = None  # minimum zxcvbn score 0..4
    max_repeat: int | None = None  # max identical chars in a row
    not_numeric: bool = False  # not made of digits only (Django's NumericPasswordValidator)
    #: Days a new password stays valid where the system this preset stands for
    #: expires passwords (0: never). Not a rule of :func:`check`: the services
    #: date a new password with it, unless the ``password_expiry_days`` setting
    #: says otherwise (``Settings.default_expiry_days``).
    expiry_days: int = 0

    def __post_init__(self) -> None:
        _validate(self)

    def with_overrides(self, **kw: object) -> "Policy":
        """Return a copy with *kw* replaced; ValueError on unknown or nonsense values.

        Values given as strings (e.g. from environment variables) are converted
        for integer and boolean fields.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(kw) - names)
        if unknown:
            raise ValueError(
                f"unknown password policy setting(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        converted = {k: _coerce(k, v) for k, v in kw.items()}
        return dataclasses.replace(self, **converted)

    def describe(self) -> list[str]:
        """Human text of every active rule, in :func:`check` order."""
        return [text for _rule, text in _active_rules(self)]


def _coerce(field: str, value: object) -> object:
    if field in _WORDS_FIELDS:
        if isinstance(value, str):  # "acme, acmecorp" from an environment variable
            return tuple(w for w in re.split(r"[,\s]+", value) if w)
        if isinstance(value, (list, tuple)):
            return tuple(value)
        return value
    if isinstance(value, str):
        v = value.strip()
        if field in _INT_FIELDS or field in _OPT_INT_FIELDS:
            if field in _OPT_INT_FIELDS and v.lower() in {"", "none", "null"}:
                return None
            try:
                return int(v)
            except ValueError:
                raise ValueError(f"password policy setting {field} must be an integer") from None
        if field in _BOOL_FIELDS:
            if v.lower() in _TRUE:
                return True
            if v.lower() in _FALSE:
                return False
            raise ValueError(f"password policy setting {field} must be true or false")
    return value


def _validate(p: Policy) -> None:
    def bad(msg: str) -> ValueError:
        return ValueError(f"password policy {p.name!r}: {msg}")

    if not isinstance(p.name, str) or not p.name.strip():
        raise ValueError("password policy name must be a non-empty string")
    for f in _INT_FIELDS:
        if not _is_int(getattr(p, f)):
            raise bad(f"{f} must be an integer")
    for f in _OPT_INT_FIELDS:
        v = getattr(p, f)
        if v is not None and not _is_int(v):
            raise bad(f"{f} must be an integer or unset")
    for f in _BOOL_FIELDS:
        if not isinstance(getattr(p, f), bool):
            raise bad(f"{f} must be true or false")
    for f in _WORDS_FIELDS:
        v = getattr(p, f)
        if not isinstance(v, tuple) or not all(isinstance(w, str) and w.strip() for w in v):
            raise bad(f"{f} must be a list of words")
        if any(has_controls(w) for w in v):
            raise bad(f"{f} must not contain control characters")
    for f in _OPT_STR_FIELDS:
        v = getattr(p, f)
        if v is not None:
            if not isinstance(v, str):
                raise bad(f"{f} must be a string or unset")
            if has_controls(v):
                raise bad(f"{f} must not contain control characters")
    if p.min_length < 1:
        raise bad("min_length must be at least 1")
    if p.max_length < p.min_length:
        raise bad("max_length must not be less than min_length")
    if not 0 <= p.min_classes <= 4:
        raise bad("min_classes must be between 0 and 4")
    if p.min_classes > p.max_length:
        raise bad("min_classes cannot exceed max_length")
    if p.history < 0:
        raise bad("history must not be negative")
    if not 0 <= p.expiry_days <= _MAX_EXPIRY_DAYS:
        raise bad(f"expiry_days must be between 0 (never) and {_MAX_EXPIRY_DAYS}")
    if p.min_strength is not None and not 0 <= p.min_strength <= 4:
        raise bad("min_strength must be between 0 and 4")
    if p.max_repeat is not None and p.max_repeat < 1:
        raise bad("max_repeat must be at least 1")


# --------------------------------------------------------------------------
# Rule texts


def _chars_text(chars: str, *, joiner: str) -> str:
    """Readable list of special characters; a space is named, not shown."""
    seen = "".join(dict.fromkeys(chars))
    visible = seen.replace(" ", "")
    if " " in seen:
        return f"{visible} {joiner} space" if visible else "space"
    return visible


def _length_text(p: Policy) -> str:
    if p.min_length == p.max_length:
        return f"exactly {p.min_length} characters"
    return f"{p.min_length} to {p.max_length} characters"


def _classes_text(p: Policy) -> str:
    if p.class_specials is None:
        special = "special (any symbol)"
    elif p.class_specials:
        special = f"special ({_chars_text(p.class_specials, joiner='or')})"
    else:
        special = "special (none allowed)"
    return f"at least {p.min_classes} of: lowercase, uppercase, digit, {special}"


def _allowed_text(p: Policy) -> str:
    specials = "".join(c for c in dict.fromkeys(p.allowed_specials or "") if c not in _ASCII_ALNUM)
    if not specials:
        return "only ASCII letters and digits"
    return f"only ASCII letters, digits and {_chars_text(specials, joiner='and')}"


def _reuse_text(p: Policy) -> str:
    if p.history == 1:
        return "not the previous password"
    return f"not one of the last {p.history} passwords"


def _common_text(p: Policy) -> str:
    if p.blocklist and p.patterns:
        return "not a common password or an obvious pattern"
    return "not a commonly used password" if p.blocklist else "not an obvious pattern"


def _active_rules(p: Policy) -> list[tuple[str, str]]:
    rules = [("length", _length_text(p)), ("no_control", "no control or invisible characters")]
    if p.allowed_specials is not None:
        rules.append(("allowed_chars", _allowed_text(p)))
    if p.min_classes > 0:
        rules.append(("classes", _classes_text(p)))
    if p.no_leading_hyphen:
        rules.append(("no_leading_hyphen", "does not start with '-'"))
    if p.max_repeat is not None:
        rules.append(
            ("max_repeat", f"no more than {p.max_repeat} identical characters in a row")
        )
    if p.not_numeric:
        rules.append(("not_numeric", "not entirely numeric"))
    if p.forbid_personal:
        rules.append(("not_personal", "does not contain the username, email or name"))
    if p.blocklist or p.patterns:
        rules.append(("not_common", _common_text(p)))
    if p.history > 0:
        rules.append(("not_reused", _reuse_text(p)))
    if p.min_strength is not None:
        rules.append(("strength", f"strength score at least {p.min_strength} of 4"))
    return rules


# --------------------------------------------------------------------------
# Presets

DEFAULT_POLICY = "nist"

_DCS_SPECIALS = "`~!@#$%^&*()-_=+\\|[{}];:'\",<.>/? "
_GAUSSDB_SPECIALS = "~!@#$%^*-_=+?,()&"
_AUTH0_SPECIALS = "!@#$%^&*"
_AUTH0_WORDS = ("auth0", "okta")

# ``expiry_days``: what each system does with a new password's age. None of
# them expires passwords by default, so every preset says 0 (never); a
# deployment that must expire them says so with ``password_expiry_days`` or
# ``policy_overrides = {expiry_days = N}``.
PRESETS: dict[str, Policy] = {
    # NIST SP 800-63B rev 4: length, a blocklist of "commonly used, expected, or
    # compromised values" (breached passwords, repetitive or sequential ones,
    # context-specific words such as the service's name), no composition rules,
    # and no periodic change ("verifiers SHALL NOT require ... periodically").
    "nist": Policy("nist", 15, 64, blocklist=True, patterns=True, expiry_days=0),
    # Milvus: a user's password has no validity period.
    "milvus": Policy("milvus", 8, 64, min_classes=3, context_words=("milvus", "zilliz"), expiry_days=0),
    # DCS: its rules state no validity period.
    "dcs": Policy(
        "dcs",
        8,
        32,
        min_classes=3,
        allowed_specials=_DCS_SPECIALS,
        class_specials=_DCS_SPECIALS,
        no_leading_hyphen=True,
        context_words=("dcs",),
        expiry_days=0,
    ),
    # GaussDB: its weak-password dictionary refuses the usual "Admin@123" and
    # "Huawei@123" (the list, and a list word or the system's name padded);
    # password_effect_time defaults to 0, "never expires" (openGauss, its
    # open-source kernel, ships 90).
    "gaussdb": Policy(
        "gaussdb",
        8,
        32,
        min_classes=3,
        allowed_specials=_GAUSSDB_SPECIALS,
        class_specials=_GAUSSDB_SPECIALS,
        blocklist=True,
        patterns=True,
        context_words=("gaussdb", "opengauss", "gauss", "huawei"),
        expiry_days=0,
    ),
    # Auth0: a database connection's password policy has no expiry.
    "auth0-good": Policy("auth0-good", 8, 128, min_classes=3, class_specials=_AUTH0_SPECIALS,
                         context_words=_AUTH0_WORDS, expiry_days=0),
    "auth0-excellent": Policy("auth0-excellent", 10, 128, min_classes=3, class_specials=_AUTH0_SPECIALS,
                              max_repeat=2, context_words=_AUTH0_WORDS, expiry_days=0),
    # Django's default AUTH_PASSWORD_VALIDATORS (startproject): minimum length 8,
    # not too similar to the username, email or names, not a common password,
    # not entirely numeric. Django sets no maximum; 128 keeps a form sane. Its
    # CommonPasswordValidator matches a list only: no pattern checks here either
    # (the list is this one, larger than Django's 20,000). Django has no
    # password expiry.
    "django": Policy("django", 8, 128, blocklist=True, not_numeric=True, context_words=("django",),
                     expiry_days=0),
}


def get_policy(name: str, overrides: Mapping[str, object] | None = None) -> Policy:
    """Return the preset *name* (with *overrides* applied); ValueError if unknown."""
    key = name.strip().lower() if isinstance(name, str) else name
    policy = PRESETS.get(key)  # type: ignore[arg-type]
    if policy is None:
        raise ValueError(
            f"unknown password policy {name!r}; known policies: {', '.join(PRESETS)}"
        )
    if overrides:
        policy = policy.with_overrides(**dict(overrides))
    return policy


# --------------------------------------------------------------------------
# Checking


def _classes_present(p: Policy, pw: str) -> int:
    lower = upper = digit = special = False
    for ch in pw:
        if has_controls(ch):
            continue
        lower = lower or ch.islower()
        upper = upper or ch.isupper()
        digit = digit or ch.isdigit()
        if p.class_specials is not None:
            special = special or ch in p.class_specials
        else:
            special = special or not ch.isalnum()
    return lower + upper + digit + special


def _longest_run(pw: str) -> int:
    longest = run = 0
    prev = None
    for ch in pw:
        run = run + 1 if ch == prev else 1
        prev = ch
        longest = max(longest, run)
    return longest


def _personal_values(
    username: str | None, email: str | None, display_name: str | None
) -> list[str]:
    values: list[str] = []
    if username:
        values.append(username)
    if email:
        values.append(email)
        local = email.rpartition("@")[0]
        if local:
            values.append(local)
    if display_name:
        values.append(display_name)
        values.extend(part for part in re.split(r"[\W_]+", display_name) if part)
    out: list[str] = []
    for v in values:
        v = normalize(v).strip().casefold()
        if len(v) >= _PERSONAL_MIN_LEN and v not in out:
            out.append(v)
    return out


def _strength_score(pw: str, user_inputs: list[str]) -> int:
    if not pw:
        return 0
    from zxcvbn import zxcvbn

    sample = pw[:_STRENGTH_MAX_CHARS]
    try:
        with _ZXCVBN_LOCK:
            result = zxcvbn(sample, user_inputs=user_inputs, max_length=_STRENGTH_MAX_CHARS)
        return int(result["score"])
    except Exception:  # zxcvbn has edge-case bugs; fail closed, never echo input
        return 0


def check(
    policy: Policy,
    password: str,
    *,
    username: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    previous_hashes: Sequence[str] = (),
    hasher: "PasswordHasher | None" = None,
) -> list[RuleResult]:
    """Check *password* against every active rule of *policy*.

    Returns one :class:`RuleResult` per active rule (passing or failing), in
    ``RULE_ORDER``. The password is NFKC-normalised first.
    """
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    pw = normalize(password)
    personal = _personal_values(username, email, display_name)
    results: list[RuleResult] = []
    for rule, text in _active_rules(policy):
        if rule == "length":
            # As typed and as normalised, both: one typed U+FDFA is 18 characters under NFKC.
            ok = all(policy.min_length <= n <= policy.max_length for n in (len(password), len(pw)))
        elif rule == "no_control":
            ok = not has_controls(password) and not has_controls(pw)
        elif rule == "allowed_chars":
            # Control characters are reported by "no_control" alone.
            allowed = _ASCII_ALNUM | frozenset(policy.allowed_specials or "")
            ok = all(ch in allowed or has_controls(ch) for ch in pw)
        elif rule == "classes":
            ok = _classes_present(policy, pw) >= policy.min_classes
        elif rule == "no_leading_hyphen":
            ok = not pw.startswith("-")
        elif rule == "max_repeat":
            ok = _longest_run(pw) <= (policy.max_repeat or 0)
        elif rule == "not_numeric":
            ok = not pw.isdigit()
        elif rule == "not_personal":
            folded = pw.casefold()
            readings = {folded} | (leet_readings(folded) if len(folded) <= _PERSONAL_LEET_MAX else set())
            ok = not any(v in r for v in personal for r in readings)
        elif rule == "not_common":
            ok = not (policy.blocklist and is_common(pw)) and not (
                policy.patterns and is_obvious(pw, words=common_words(), context=policy.context_words))
        elif rule == "not_reused":
            ok = True
            if hasher is not None and previous_hashes:
                for stored in list(previous_hashes)[: policy.history]:
                    if hasher.verify(stored, pw).ok:
                        ok = False
                        break
        elif rule == "strength":
            ok = _strength_score(pw, personal) >= (policy.min_strength or 0)
        else:  # pragma: no cover - _active_rules only yields known ids
            raise AssertionError(rule)
        results.append(RuleResult(rule=rule, ok=ok, text=text))
    return results


def failures(results: list[RuleResult]) -> list[RuleResult]:
    """The failing results, in order."""
    return [r for r in results if not r.ok]
