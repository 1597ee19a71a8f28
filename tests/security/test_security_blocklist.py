import gzip
import secrets
import subprocess
import sys
from importlib import resources

import pytest

from console.security import blocklist
from console.security.blocklist import common_password_count, is_common
from console.security.generator import alphabet_for, generate
from console.security.policy import PRESETS, check, failures
from console.security.text import normalize

PERSON = dict(username="mweber", email="m.weber@example.org", display_name="Marta Weber")


def not_common(policy_name: str, pw: str, **who) -> bool:
    """The not_common rule's verdict for *pw* under the preset."""
    return {r.rule: r.ok for r in check(PRESETS[policy_name], pw, **who)}["not_common"]


# ---------------------------------------------------------------- the list


def test_list_is_large():
    assert common_password_count() >= 100_000


def test_list_has_thousands_of_long_entries():
    # NIST's minimum is 15: only these can ever match under the nist preset.
    assert common_password_count(min_length=15) >= 5_000
    assert common_password_count(min_length=20) >= 500


def test_entries_are_stored_as_they_are_matched():
    """NFKC and casefolded, one a line: loading is a split, not a normalisation."""
    raw = resources.files("console.security").joinpath("common-passwords.txt.gz").read_bytes()
    entries = gzip.decompress(raw).decode("utf-8").splitlines()
    assert len(entries) == len(set(entries)) == common_password_count()
    assert all(e and e == normalize(e).casefold() for e in entries)


@pytest.mark.parametrize("pw", ["password", "PassWord", "PASSWORD", "123456", "qwerty", "iloveyou", "ｐａｓｓｗｏｒｄ"])
def test_common_case_insensitive(pw):
    assert is_common(pw)


@pytest.mark.parametrize("pw", ["perasperaadastra", "PerAsperaAdAstra", "30secondstomars", "30SecondsToMars",
                                "qwertyuiop123456789", "12345678900987654321", "cheaphornybastard"])
def test_long_breached_passwords_are_listed(pw):
    assert len(pw) >= 15 and is_common(pw)
    assert not not_common("nist", pw)


@pytest.mark.parametrize(
    "pw", ["password-horse-battery", "password ", " password", "xpassword", "Blue-Kettle42", ""]
)
def test_whole_password_only(pw):
    assert not is_common(pw)


def test_the_list_is_loaded_on_first_check_not_at_start():
    """The console's start never pays for it: importing the policy, the
    settings or the console loads nothing; the first check does."""
    code = (
        "import console.config, console.security.policy, console.security.generator, console.tui.app\n"
        "from console.security import blocklist\n"
        "assert blocklist._common.cache_info().currsize == 0, 'loaded at import'\n"
        "from console.security.policy import PRESETS, check\n"
        "check(PRESETS['nist'], 'correct horse battery staple')\n"
        "assert blocklist._common.cache_info().currsize == 1\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if p.blocklist])
def test_random_passwords_from_the_generators_alphabet_are_never_refused(name):
    """Drawn as the generator draws, without its retry: the list and the pattern
    checks refuse none (a refusal would show as a retry the generator hides)."""
    policy = PRESETS[name]
    alphabet = alphabet_for(policy)
    n = len(generate(policy).password)
    for _ in range(3000):
        pw = "".join(secrets.choice(alphabet) for _ in range(n))
        assert not_common(name, pw), "refused a random password"  # never printed: it is random anyway
