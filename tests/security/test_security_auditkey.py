"""The audit key (console/security/auditkey.py): written once, exclusively,
0600; read only when its owner alone may; never shown."""

from __future__ import annotations

import os
import stat

import pytest

from console.config import Settings
from console.security.auditkey import AuditKey, KeyFileError


def test_a_key_is_written_once_and_read_back(tmp_path):
    key = AuditKey.generate()
    path = tmp_path / "keys" / "k.key"
    key.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = AuditKey.read(path)
    assert again.id == key.id and again.sign_event("h") == key.sign_event("h")
    assert key.text() not in repr(key)


def test_an_existing_file_or_link_is_never_written_to(tmp_path):
    other = tmp_path / "someone-elses"
    other.write_text("keep")
    with pytest.raises(KeyFileError):
        AuditKey.generate().write(other)
    link = tmp_path / "link.key"
    os.symlink(tmp_path / "target", link)
    with pytest.raises(KeyFileError):
        AuditKey.generate().write(link)
    assert other.read_text() == "keep" and not (tmp_path / "target").exists()


def test_a_key_others_may_read_or_a_link_is_refused(tmp_path):
    key = AuditKey.generate()
    path = tmp_path / "k.key"
    key.write(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError) as ei:
        AuditKey.read(path)
    assert "chmod 600" in str(ei.value) and key.text() not in str(ei.value)
    os.chmod(path, 0o600)
    link = tmp_path / "link.key"
    os.symlink(path, link)
    with pytest.raises(KeyFileError):
        AuditKey.read(link)


@pytest.mark.parametrize("text", ["", "not a key", "00" * 16, "QUJD"])
def test_what_is_not_a_key_is_refused_without_quoting_it(text):
    with pytest.raises(KeyFileError) as ei:
        AuditKey.from_text(text, where="USERDESK_AUDIT_KEY")
    assert "USERDESK_AUDIT_KEY" in str(ei.value) and (not text or text not in str(ei.value))


def test_a_relative_key_file_is_refused_by_the_settings():
    with pytest.raises(ValueError) as ei:
        Settings(audit_key_file="keys/audit.key")
    assert "audit_key_file" in str(ei.value) and "absolute" in str(ei.value)
    assert Settings(audit_key_file="~/audit.key").audit_key_file == "~/audit.key"
