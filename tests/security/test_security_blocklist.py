import pytest

from console.security.blocklist import common_password_count, is_common


def test_list_is_large():
    assert common_password_count() >= 20_000


@pytest.mark.parametrize("pw", ["password", "PassWord", "PASSWORD", "123456", "qwerty", "iloveyou", "ｐａｓｓｗｏｒｄ"])
def test_common_case_insensitive(pw):
    assert is_common(pw)


@pytest.mark.parametrize(
    "pw", ["password-horse-battery", "password ", " password", "xpassword", "Blue-Kettle42", ""]
)
def test_whole_password_only(pw):
    assert not is_common(pw)
