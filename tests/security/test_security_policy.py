import pytest

from console.security.hashing import Argon2Params, PasswordHasher
from console.security.policy import (
    PRESETS,
    Policy,
    RuleResult,
    check,
    failures,
    get_policy,
)

PERSON = dict(username="mweber", email="m.weber@example.org", display_name="Marta Weber")
#: nist's longest: not one character 64 times, which is an obvious pattern (not_common).
LONGEST_NIST = "a passphrase of sixty-four characters is the longest nist allows"
assert len(LONGEST_NIST) == 64

# Rule ids each preset must report (in this order).
EXPECTED_RULES = {
    "nist": ["length", "no_control", "not_personal", "not_common", "not_reused"],
    "milvus": ["length", "no_control", "classes", "not_personal", "not_reused"],
    "dcs": [
        "length",
        "no_control",
        "allowed_chars",
        "classes",
        "no_leading_hyphen",
        "not_personal",
        "not_reused",
    ],
    "gaussdb": [
        "length",
        "no_control",
        "allowed_chars",
        "classes",
        "not_personal",
        "not_common",
        "not_reused",
    ],
    "auth0-good": ["length", "no_control", "classes", "not_personal", "not_reused"],
    "auth0-excellent": [
        "length",
        "no_control",
        "classes",
        "max_repeat",
        "not_personal",
        "not_reused",
    ],
    "django": ["length", "no_control", "not_numeric", "not_personal", "not_common", "not_reused"],
}

GOOD = {
    "nist": [
        "correct horse battery staple",
        "Ünïcødé-pässwörd-okay",
        "日本語のパスワードはとても長い",  # 15 code points
        LONGEST_NIST,
        "-starts with a hyphen-",
        "Tr0ub4dor&3xyzQ",
    ],
    "milvus": ["Blue-Kettle42", "bluekettle!42", "BLUE KETTLE 42", "Ab1!xyzw", "Ab1!" + "x" * 60],
    "dcs": ["Blue Kettle 42", "Blue-Kettle42", "bluekettle_42", "Ab1~xyzw", "Ab1!" + "x" * 28, "a'b\"c`D\\1"],
    "gaussdb": ["Blue-Kettle42", "blue(kettle)42", "BLUE&KETTLE&42", "Ab1~xyzw", "Ab1!" + "x" * 28],
    "auth0-good": ["Blue!Kettle42", "bluekettle42A", "blue!kettle!42", "Ab1!xyzw", "Ab1!" + "x" * 124],
    "auth0-excellent": ["Blue!Kettle42", "bluekettle42A", "Ab1!xyzwvu", "Ab1!" + "xy" * 62, "Aabb!!11cc"],
    "django": ["bluekettle", "Blue Kettle 42", "12345678x", "x" * 128, "-kettle-"],
}

# (preset, rule, bad password); "not_reused" cases are handled separately.
BAD = [
    # django
    ("django", "length", "kettle7"),
    ("django", "length", "x" * 129),
    ("django", "no_control", "blue\x1bkettle"),
    ("django", "not_numeric", "73920184655"),
    ("django", "not_personal", "weberkettle"),
    ("django", "not_common", "password1"),
    # nist
    ("nist", "length", "Tr0ub4dor&3xyz"),  # 14
    ("nist", "length", LONGEST_NIST + "!"),
    ("nist", "no_control", "correct horse\x1bbattery"),
    ("nist", "no_control", "correct horse\u202ebattery"),
    ("nist", "no_control", "correct horse\ud800battery"),  # lone surrogate
    ("nist", "not_personal", "mweber rides a red bike"),
    ("nist", "not_personal", "I am MARTA WEBER, hello"),
    ("nist", "not_personal", "m.weber-rides-a-red-bike"),
    ("nist", "not_common", "1qaz2wsx3edc4rfv"),
    ("nist", "not_common", "1QAZ2WSX3EDC4RFV"),
    ("nist", "not_common", "aaaaaaaaaaaaaaaa"),  # patterns the list misses
    ("nist", "not_common", "Password!!!!!!!!"),
    ("nist", "not_common", "123456789012345678"),
    # milvus
    ("milvus", "length", "Ab1!xyz"),
    ("milvus", "length", "Ab1!" + "x" * 61),
    ("milvus", "no_control", "Blue\tKettle42"),
    ("milvus", "classes", "bluekettle42"),
    ("milvus", "classes", "BLUE-KETTLE"),
    ("milvus", "not_personal", "Weber-Kettle42"),
    # dcs
    ("dcs", "length", "Ab1~xyz"),
    ("dcs", "length", "Ab1!" + "x" * 29),
    ("dcs", "no_control", "Blue\x00Kettle42"),
    ("dcs", "allowed_chars", "Blue€Kettle42"),
    ("dcs", "allowed_chars", "Blue Kettle 42 ü"),
    ("dcs", "classes", "bluekettle42"),
    ("dcs", "classes", "blue kettle"),
    ("dcs", "no_leading_hyphen", "-BlueKettle42"),
    ("dcs", "not_personal", "mweber-Kettle42"),
    # gaussdb
    ("gaussdb", "length", "Ab1~xyz"),
    ("gaussdb", "length", "Ab1!" + "x" * 29),
    ("gaussdb", "no_control", "Blue\x9bKettle42"),
    ("gaussdb", "allowed_chars", "Blue.Kettle42"),
    ("gaussdb", "allowed_chars", "Blue Kettle42"),
    ("gaussdb", "classes", "bluekettle42"),
    ("gaussdb", "classes", "bluekettle!!"),
    ("gaussdb", "not_personal", "Marta-Kettle42"),
    ("gaussdb", "not_common", "Password1"),
    ("gaussdb", "not_common", "PassWord123"),
    ("gaussdb", "not_common", "Admin@123"),  # the weak-password dictionary's kind
    ("gaussdb", "not_common", "Huawei12#$"),
    # auth0-good
    ("auth0-good", "length", "Ab1!xyz"),
    ("auth0-good", "length", "Ab1!" + "x" * 125),
    ("auth0-good", "no_control", "Blue!\u200bKettle42"),
    ("auth0-good", "classes", "blue-kettle-42"),  # '-' is not an Auth0 special
    ("auth0-good", "classes", "BLUEKETTLE"),
    ("auth0-good", "not_personal", "Blue!mWeBeR42"),
    # auth0-excellent
    ("auth0-excellent", "length", "Blue!Ke42"),  # 9
    ("auth0-excellent", "length", "Ab1!" + "xy" * 63),
    ("auth0-excellent", "no_control", "Blue!Kettle42\x7f"),
    ("auth0-excellent", "classes", "blue-kettle-42"),
    ("auth0-excellent", "max_repeat", "Blue!Keeettle42"),
    ("auth0-excellent", "max_repeat", "Blue!Kettle4222"),
    ("auth0-excellent", "not_personal", "Blue!Weber42x"),
]


@pytest.fixture(scope="module")
def hasher():
    return PasswordHasher(Argon2Params.cheapest())


def test_presets_exist():
    assert set(PRESETS) == set(EXPECTED_RULES)
    assert get_policy("nist") is PRESETS["nist"]


@pytest.mark.parametrize("name", list(EXPECTED_RULES))
def test_every_active_rule_reported_in_stable_order(name):
    policy = PRESETS[name]
    results = check(policy, "x", **PERSON)
    assert [r.rule for r in results] == EXPECTED_RULES[name]
    assert [r.text for r in results] == policy.describe()


def test_every_preset_rule_has_a_bad_case():
    covered = {(p, r) for p, r, _ in BAD}
    for name, rules in EXPECTED_RULES.items():
        for rule in rules:
            if rule != "not_reused":  # see test_not_reused_per_preset
                assert (name, rule) in covered, (name, rule)


@pytest.mark.parametrize(("name", "pw"), [(n, pw) for n, pws in GOOD.items() for pw in pws])
def test_good_passwords_pass(name, pw, hasher):
    other = [hasher.hash("an older password entirely")]
    results = check(PRESETS[name], pw, previous_hashes=other, hasher=hasher, **PERSON)
    assert failures(results) == []
    assert all(r.ok for r in results)


@pytest.mark.parametrize(("name", "rule", "pw"), BAD)
def test_bad_password_fails_exactly_that_rule(name, rule, pw):
    results = check(PRESETS[name], pw, **PERSON)
    assert [r.rule for r in failures(results)] == [rule]
    for r in results:
        assert pw not in r.text


@pytest.mark.parametrize("name", list(EXPECTED_RULES))
def test_not_reused_per_preset(name, hasher):
    pw = GOOD[name][0]
    prev = [hasher.hash("something else 1"), hasher.hash(pw), hasher.hash("something else 2")]
    results = check(PRESETS[name], pw, previous_hashes=prev, hasher=hasher, **PERSON)
    assert [r.rule for r in failures(results)] == ["not_reused"]


# ---------------------------------------------------------------- history


def test_history_only_last_n(hasher):
    policy = PRESETS["nist"].with_overrides(history=3)
    pw = "correct horse battery staple"
    older = [hasher.hash(f"filler password {i}") for i in range(3)]
    # newest first: reused password is the 4th newest -> outside history
    results = check(policy, pw, previous_hashes=older + [hasher.hash(pw)], hasher=hasher)
    assert failures(results) == []
    results = check(policy, pw, previous_hashes=older[:2] + [hasher.hash(pw)], hasher=hasher)
    assert [r.rule for r in failures(results)] == ["not_reused"]
    assert "not one of the last 3 passwords" in policy.describe()


def test_history_nfkc(hasher):
    pw = "correct horse battery staple"
    results = check(PRESETS["nist"], "ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ ｓｔａｐｌｅ",
                    previous_hashes=[hasher.hash(pw)], hasher=hasher)
    assert [r.rule for r in failures(results)] == ["not_reused"]


def test_history_skipped_without_hasher_or_hashes(hasher):
    pw = "correct horse battery staple"
    r = {x.rule: x for x in check(PRESETS["nist"], pw, previous_hashes=[hasher.hash(pw)])}
    assert r["not_reused"].ok
    r = {x.rule: x for x in check(PRESETS["nist"], pw, hasher=hasher)}
    assert r["not_reused"].ok


def test_history_zero_disables(hasher):
    policy = PRESETS["nist"].with_overrides(history=0)
    pw = "correct horse battery staple"
    results = check(policy, pw, previous_hashes=[hasher.hash(pw)], hasher=hasher)
    assert "not_reused" not in [r.rule for r in results]
    assert failures(results) == []


def test_history_ignores_garbage_hashes(hasher):
    results = check(PRESETS["nist"], "correct horse battery staple",
                    previous_hashes=["garbage", ""], hasher=hasher)
    assert failures(results) == []


# ---------------------------------------------------------------- personal info


@pytest.mark.parametrize(
    ("kwargs", "pw"),
    [
        (dict(username="jsmith"), "my name is JSmith ok"),
        (dict(username="jsmith"), "jsmith"),
        (dict(email="jane.smith@example.com"), "Jane.Smith-was-here"),
        (dict(email="jane.smith@example.com"), "jane.smith@example.com!!"),
        (dict(display_name="Jane Smith"), "hello jane smith 123"),
        (dict(display_name="Jane Smith"), "hello-smithereens-123"),  # name part
        (dict(username="ｊｓｍｉｔｈ"), "my name is jsmith ok"),  # NFKC both sides
    ],
)
def test_personal_info_rejected(kwargs, pw):
    policy = PRESETS["nist"]
    results = check(policy, pw.ljust(15, "z"), **kwargs)
    assert "not_personal" in [r.rule for r in failures(results)]


@pytest.mark.parametrize(
    ("kwargs", "pw"),
    [
        (dict(username="jo"), "jo jo jo jo jo jo jo"),  # shorter than 3: ignored
        (dict(email="al@example.com"), "al is a friend of mine"),  # local part < 3
        (dict(display_name="Li Na"), "li-na li-na li-na"),  # parts < 3 ignored
        (dict(username="jsmith", email="jane.smith@example.com", display_name="Jane Smith"),
         "correct horse battery staple"),
        (dict(username=None, email=None, display_name=None), "correct horse battery staple"),
    ],
)
def test_personal_info_short_or_absent(kwargs, pw):
    results = {r.rule: r.ok for r in check(PRESETS["nist"], pw, **kwargs)}
    assert results["not_personal"]


def test_whole_display_name_checked_even_if_parts_are_short():
    results = {r.rule: r.ok for r in check(PRESETS["nist"], "li na li na li na", display_name="Li Na")}
    assert not results["not_personal"]


def test_forbid_personal_off():
    policy = PRESETS["nist"].with_overrides(forbid_personal=False)
    results = check(policy, "mweber rides a red bike", **PERSON)
    assert "not_personal" not in [r.rule for r in results]
    assert failures(results) == []


# ---------------------------------------------------------------- NFKC / length


def test_fullwidth_normalised_before_class_check():
    # Fullwidth upper/lower/digit/hyphen become ASCII and satisfy gaussdb.
    pw = "Ｂｌｕｅ－Ｋｅｔｔｌｅ４２"
    assert failures(check(PRESETS["gaussdb"], pw)) == []
    assert failures(check(PRESETS["dcs"], pw)) == []


def test_fullwidth_common_password_detected():
    results = check(PRESETS["gaussdb"], "Ｐａｓｓｗｏｒｄ１")
    assert [r.rule for r in failures(results)] == ["not_common"]


def test_length_counts_code_points_as_typed_and_after_nfkc():
    # 8 ligature code points -> 16 'f' after NFKC: 8 as typed is too short.
    assert not {r.rule: r.ok for r in check(PRESETS["nist"], "\ufb00" * 8)}["length"]
    # 15 ligatures -> 30 characters: both counts pass.
    assert {r.rule: r.ok for r in check(PRESETS["nist"], "\ufb00" * 15)}["length"]
    # 7 ligatures -> 14 characters: too short either way.
    assert not {r.rule: r.ok for r in check(PRESETS["nist"], "\ufb00" * 7)}["length"]
    # 15 Japanese characters: 15 code points, passes.
    assert {r.rule: r.ok for r in check(PRESETS["nist"], "あ" * 15)}["length"]
    # combining sequence composes to one code point: 14 + 1 = 15
    assert {r.rule: r.ok for r in check(PRESETS["nist"], "a" * 14 + "e\u0301")}["length"]
    assert not {r.rule: r.ok for r in check(PRESETS["nist"], "a" * 13 + "e\u0301")}["length"]


def test_unicode_classes_without_class_specials():
    # milvus: any non-alphanumeric counts as special; unicode letters count as lower/upper.
    assert failures(check(PRESETS["milvus"], "ÉCOLE§école")) == []
    assert [r.rule for r in failures(check(PRESETS["milvus"], "日本語日本語日本語"))] == ["classes"]


# ---------------------------------------------------------------- strength


def test_strength_rule():
    policy = PRESETS["nist"].with_overrides(min_strength=3)
    assert [r.rule for r in check(policy, "x")][-1] == "strength"
    assert failures(check(policy, "correct horse battery staple")) == []
    # in the list, and a sequence besides: common as well as weak
    assert [r.rule for r in failures(check(policy, "abcdefghijklmnop"))] == ["not_common", "strength"]
    assert "strength" in [r.rule for r in failures(check(policy, ""))]


def test_strength_uses_personal_inputs():
    # The strength rule on its own: a repeated word is also personal and a pattern.
    policy = PRESETS["nist"].with_overrides(min_strength=3, forbid_personal=False, patterns=False)
    pw = "mweber-mweber-mweber"
    assert failures(check(policy, pw)) == []
    assert [r.rule for r in failures(check(policy, pw, username="mweber"))] == ["strength"]


def test_strength_on_very_long_input():
    policy = PRESETS["nist"].with_overrides(max_length=10_000, min_strength=4)
    results = check(policy, "aB3!x9Qz#L" * 1000)
    assert [r.rule for r in results][-1] == "strength"


# ---------------------------------------------------------------- texts, overrides


def test_rule_texts():
    assert "15 to 64 characters" in PRESETS["nist"].describe()
    assert "at least 3 of: lowercase, uppercase, digit, special (!@#$%^&*)" in PRESETS[
        "auth0-good"
    ].describe()
    assert "no more than 2 identical characters in a row" in PRESETS["auth0-excellent"].describe()
    assert "does not start with '-'" in PRESETS["dcs"].describe()
    for p in PRESETS.values():
        texts = p.describe()
        assert len(texts) == len(set(texts))
        assert all(isinstance(t, str) and t for t in texts)


def test_results_are_rule_results_and_text_never_contains_password():
    pw = "SuperSecretValue#123"
    for p in PRESETS.values():
        for r in check(p, pw, **PERSON):
            assert isinstance(r, RuleResult)
            assert pw not in r.text and "SuperSecret" not in r.text


def test_with_overrides():
    base = PRESETS["nist"]
    p = base.with_overrides(min_length=20, max_repeat=3)
    assert (p.min_length, p.max_repeat, p.name) == (20, 3, "nist")
    assert base.min_length == 15  # original untouched
    assert base.with_overrides(min_length="16", blocklist="false", max_repeat="") == base.with_overrides(
        min_length=16, blocklist=False, max_repeat=None
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(nonsense=1),
        dict(min_length=70),  # > max_length 64
        dict(max_length=10),
        dict(min_length=0),
        dict(min_classes=5),
        dict(min_classes=-1),
        dict(history=-1),
        dict(min_strength=5),
        dict(max_repeat=0),
        dict(min_length="abc"),
        dict(blocklist="maybe"),
        dict(blocklist=1),
        dict(min_length=1.5),
        dict(allowed_specials="\x1b"),
        dict(patterns="maybe"),
        dict(context_words=3),
        dict(context_words=["acme", ""]),
        dict(context_words=["ac\x1bme"]),
        dict(expiry_days=-1),
        dict(expiry_days=36501),
    ],
)
def test_with_overrides_rejects_nonsense(kw):
    with pytest.raises(ValueError):
        PRESETS["nist"].with_overrides(**kw)


def test_get_policy():
    p = get_policy("dcs", {"min_length": 12})
    assert p.min_length == 12 and p.allowed_specials == PRESETS["dcs"].allowed_specials
    assert get_policy("milvus", None) == PRESETS["milvus"]
    with pytest.raises(ValueError) as exc:
        get_policy("nope")
    msg = str(exc.value)
    for name in PRESETS:
        assert name in msg


def test_preset_values():
    nist = PRESETS["nist"]
    assert (nist.min_length, nist.max_length, nist.min_classes, nist.blocklist, nist.history) == (15, 64, 0, True, 5)
    dcs = PRESETS["dcs"]
    assert " " in dcs.allowed_specials and dcs.allowed_specials == dcs.class_specials
    assert set("`~!@#$%^&*()-_=+\\|[{}];:'\",<.>/?") <= set(dcs.allowed_specials)
    assert PRESETS["gaussdb"].allowed_specials == "~!@#$%^*-_=+?,()&"
    assert PRESETS["auth0-excellent"].max_repeat == 2
    assert PRESETS["auth0-good"].allowed_specials is None


def test_the_common_rule_says_what_it_checks():
    assert "not a common password or an obvious pattern" in PRESETS["nist"].describe()
    assert "not a common password or an obvious pattern" in PRESETS["gaussdb"].describe()
    assert "not a commonly used password" in PRESETS["django"].describe()  # Django's list only
    milvus = PRESETS["milvus"].with_overrides(patterns=True)
    assert "not an obvious pattern" in milvus.describe()
    assert [r.rule for r in failures(check(milvus, "Milvus@123456"))] == ["not_common"]  # its own name
    assert failures(check(PRESETS["milvus"], "Milvus@123456")) == []  # the preset itself checks no patterns
    both_off = PRESETS["nist"].with_overrides(blocklist=False, patterns=False)
    assert "not_common" not in [r.rule for r in check(both_off, "x")]


def test_pattern_settings_and_context_words_as_overrides():
    p = PRESETS["nist"].with_overrides(patterns="false", context_words="acme, widgetco  acmecorp")
    assert p.patterns is False and p.context_words == ("acme", "widgetco", "acmecorp")
    assert PRESETS["nist"].with_overrides(context_words=["acme"]).context_words == ("acme",)
    assert PRESETS["gaussdb"].patterns and PRESETS["nist"].patterns and not PRESETS["django"].patterns
    assert "huawei" in PRESETS["gaussdb"].context_words


def test_direct_construction_validated():
    with pytest.raises(ValueError):
        Policy("x", 10, 5)
