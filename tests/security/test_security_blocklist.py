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


# ---------------------------------------------------------------- what any list misses

NIST_PATTERNS = [
    # a short unit repeated
    "aaaaaaaaaaaaaaaa",
    "abcabcabcabcabc",
    "passwordpassword",
    "Xk9#Xk9#Xk9#Xk9#",
    # sequences, ascending and descending, digits wrapping round
    "123456789012345678",
    "abcdefghijklmnop",
    "ponmlkjihgfedcba",
    "987654321098765432",
    "abcdefgh12345678",
    # keyboard walks: rows, columns, zigzags
    "qwertyuiopasdfgh",
    "1qaz2wsx3edc4rfv",
    "zaq12wsxcde34rfv",
    "1q2w3e4r5t6y7u8i",
    "!@#$%^&*()qwerty",
    "qwerty123456!!!!",
    # a list word (leet-speak, any case) padded to length
    "password123456789",
    "Password!!!!!!!!",
    "P@ssw0rd12345678",
    "Iloveyou!!!!2024",
    "!!!!Sunshine1234",
    "monkeymonkey1234",
    "dragon dragon 12",
    # the service's own name
    "Userdesk@123456789",
    "us3rd3sk12345678",
]


@pytest.mark.parametrize("pw", NIST_PATTERNS)
def test_obvious_patterns_fail_nist(pw):
    results = check(PRESETS["nist"], pw, **PERSON)
    assert [r.rule for r in failures(results)] == ["not_common"], pw
    assert all(pw not in r.text for r in results)


GAUSSDB_WEAK = ["Admin@123", "Huawei@123", "Passw0rd!", "Root@123", "Huawei12#$", "Admin@2024", "P@ssw0rd",
                "Gaussdb@123", "Huawei@123456", "Admin123!@#", "root@Huawei1", "Summer2024!", "Welcome1!",
                "Changeme_123", "Qwerty@123"]


@pytest.mark.parametrize("pw", GAUSSDB_WEAK)
def test_gaussdb_weak_password_dictionary(pw):
    results = check(PRESETS["gaussdb"], pw, **PERSON)
    assert [r.rule for r in failures(results)] == ["not_common"], pw


@pytest.mark.parametrize("pw", ["MW3B3R!!!!!!!!!!", "mw3b3r rides a bike", "m.w3b3r-1234567890", "I am M4RT4 W3B3R, hello"])
def test_the_users_own_fields_padded_or_in_leet_speak(pw):
    """The user's fields are the not_personal rule's: it refuses a password
    that holds them, padded or not, read back from leet-speak too."""
    results = check(PRESETS["nist"], pw, **PERSON)
    assert [r.rule for r in failures(results)] == ["not_personal"], pw
    assert failures(check(PRESETS["nist"], pw)) == [], pw  # someone else may


def test_context_words_can_be_added():
    policy = PRESETS["nist"].with_overrides(context_words="acme, widgetco")
    assert [r.rule for r in failures(check(policy, "Acme@12345678901"))] == ["not_common"]
    assert [r.rule for r in failures(check(policy, "W1dg3tc0!!!!!!!!"))] == ["not_common"]
    assert failures(check(PRESETS["nist"], "W1dg3tc0!!!!!!!!!")) == []


@pytest.mark.parametrize("pw", [
    "correct horse battery staple",
    "Tr0ub4dor&3xK9!m",
    "violet Harbour lamps 2031 quay",
    "my password is not password",
    "blue kettle 42 on the stove",
    "Ünïcødé-pässwörd-okay",
    "日本語のパスワードはとても長い",
    "7Hq!vR2#pL9@xW4$",
])
def test_ordinary_strong_passwords_pass_nist(pw):
    assert failures(check(PRESETS["nist"], pw, **PERSON)) == [], pw


@pytest.mark.parametrize("pw", ["Blue-Kettle42", "blue(kettle)42", "BLUE&KETTLE&42", "Kettle42!x", "Gr8-Harbour?"])
def test_ordinary_passwords_pass_gaussdb(pw):
    assert failures(check(PRESETS["gaussdb"], pw, **PERSON)) == [], pw


def test_django_matches_its_list_only_as_django_does():
    """Django's CommonPasswordValidator has no pattern checks; its preset neither."""
    assert not_common("django", "x" * 128) and not_common("django", "-kettle-")
    assert not not_common("django", "password123")  # in the list
    assert "not a commonly used password" in PRESETS["django"].describe()


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


@pytest.mark.parametrize("name", list(PRESETS))
def test_short_random_passwords_at_the_minimum_length_are_rarely_patterns(name):
    policy = PRESETS[name].with_overrides(patterns=True)
    alphabet = alphabet_for(policy)
    refused = 0
    for _ in range(2000):
        pw = "".join(secrets.choice(alphabet) for _ in range(max(policy.min_length, 10)))
        refused += not {r.rule: r.ok for r in check(policy, pw)}.get("not_common", True)
    assert refused <= 2


def test_very_long_input_is_quick():
    import time

    policy = PRESETS["nist"].with_overrides(max_length=10_000)
    check(policy, "warm up the list")
    for pw in ("aB3!x9Qz#L" * 1000, secrets.token_urlsafe(7500)[:10_000], "password" + "1" * 9992):
        t = time.perf_counter()
        check(policy, pw)
        assert time.perf_counter() - t < 1.0
