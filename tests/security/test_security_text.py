import pytest

from console.security.text import escape_controls, has_controls, normalize


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\x1b[31mred", "a\\x1b[31mred"),  # ESC / CSI colour
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear screen
        ("x\x1b]52;c;aGVsbG8=\x07y", "x\\x1b]52;c;aGVsbG8=\\x07y"),  # OSC 52 clipboard write
        ("nul\x00byte", "nul\\x00byte"),
        ("c1\x9b31m", "c1\\x9b31m"),  # 8-bit CSI
        ("\x9d0;title\x9c", "\\x9d0;title\\x9c"),  # 8-bit OSC / ST
        ("admin\u202etxt.exe", "admin\\u202etxt.exe"),  # RLO bidi override
        ("ad\u200bmin", "ad\\u200bmin"),  # zero-width space
        ("a\u200cb\u200dc\u2060d\ufeffe", "a\\u200cb\\u200dc\\u2060d\\ufeffe"),
        ("\u2066x\u2069\u200e\u200f\u061c", "\\u2066x\\u2069\\u200e\\u200f\\u061c"),
        ("tab\there", "tab\\x09here"),
        ("cr\rlf\n", "cr\\x0dlf\\x0a"),
        ("del\x7f", "del\\x7f"),
        ("tag\U000e0041", "tag\\U000e0041"),  # Cf outside the BMP
    ],
)
def test_escape_controls_makes_terminal_controls_visible(raw, escaped):
    assert escape_controls(raw) == escaped
    assert has_controls(raw)
    out = escape_controls(raw)
    assert not has_controls(out)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out


@pytest.mark.parametrize("s", ["café", "日本", "back\\slash", "plain ascii !@#$%^&*()", "", "Ünïcødé"])
def test_escape_controls_passes_ordinary_text_through(s):
    assert escape_controls(s) == s
    assert not has_controls(s)


def test_escaped_backslash_sequence_is_not_reinterpreted():
    # A literal backslash-x stays as is; only the real ESC is escaped.
    assert escape_controls("\\x1b\x1b") == "\\x1b\\x1b"


def test_every_c0_and_c1_control_is_escaped():
    for cp in list(range(0x20)) + [0x7F] + list(range(0x80, 0xA0)):
        ch = chr(cp)
        assert has_controls(ch), hex(cp)
        assert escape_controls(ch) == f"\\x{cp:02x}"


def test_normalize_is_nfkc():
    assert normalize("ｐａｓｓ１２３") == "pass123"
    assert normalize("ﬁ") == "fi"
    assert normalize("e\u0301") == "é"
