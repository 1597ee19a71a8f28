"""How long a new password stays valid: the policy preset's own default
(``nist``: never, as NIST SP 800-63B asks), unless ``password_expiry_days``
says otherwise; one answer for every way a password is set."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from console.config import Settings
from console.security.policy import PRESETS
from console.services import listing, passwords, setup, tickets, users
from console.services.context import Actor
from console.services.listing import UserFilter


def strong() -> str:
    return "Pw" + secrets.token_urlsafe(18)


def test_every_preset_states_its_expiry_and_nist_never_expires():
    assert PRESETS["nist"].expiry_days == 0  # SP 800-63B: no periodic change
    assert PRESETS["django"].expiry_days == 0  # Django has no password expiry
    for p in PRESETS.values():
        assert isinstance(p.expiry_days, int) and 0 <= p.expiry_days <= 36500


def test_settings_answer_the_preset_default_unless_told():
    assert Settings().password_expiry_days is None
    assert Settings().default_expiry_days() == 0  # nist: never
    preset_760 = Settings(policy_overrides={"expiry_days": 760})
    assert preset_760.password_policy().expiry_days == 760
    assert preset_760.default_expiry_days() == 760
    assert Settings(policy_overrides={"expiry_days": 760}, password_expiry_days=30).default_expiry_days() == 30
    assert Settings(policy_overrides={"expiry_days": 760}, password_expiry_days=0).default_expiry_days() == 0
    assert Settings(password_expiry_days=90).default_expiry_days() == 90


def test_nist_new_passwords_do_not_expire(ctx, admin, make_user, clock):
    assert ctx.settings.policy == "nist" and ctx.settings.password_expiry_days is None
    created = users.create_user(ctx, admin, "nora", must_change=False)
    assert created.user.password_expires_at is None
    assert passwords.reset_password(ctx, admin, "nora", reason="test").user.password_expires_at is None
    assert passwords.set_password(ctx, admin, "nora", strong(), reason="test").password_expires_at is None
    it = tickets.issue_ticket(ctx, admin, "nora")
    tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    assert listing.get_user(ctx, admin, "nora").password_expires_at is None
    clock.advance(days=36500)
    assert not listing.get_user(ctx, admin, "nora").expired


def test_a_preset_that_says_760_gets_760(make_ctx, ctx, admin, make_user, clock):
    c = make_ctx(policy_overrides={"expiry_days": 760})
    created = users.create_user(c, admin, "paul", must_change=False)
    assert created.user.password_expires_at == clock.now + timedelta(days=760)
    assert passwords.reset_password(c, admin, "paul", reason="test").user.password_expires_at == clock.now + timedelta(days=760)
    assert passwords.set_password(c, admin, "paul", strong(), reason="test").password_expires_at == clock.now + timedelta(days=760)
    # an operator's explicit --expiry still wins over the preset
    assert passwords.reset_password(c, admin, "paul", expiry_days=7, reason="test").user.password_expires_at == \
        clock.now + timedelta(days=7)
    assert passwords.reset_password(c, admin, "paul", expiry_days=0, reason="test").user.password_expires_at is None


def test_an_explicit_setting_overrides_the_preset(make_ctx, ctx, admin, clock):
    c30 = make_ctx(policy_overrides={"expiry_days": 760}, password_expiry_days=30)
    users.create_user(c30, admin, "quin", must_change=False)
    assert passwords.reset_password(c30, admin, "quin", reason="test").user.password_expires_at == clock.now + timedelta(days=30)
    never = make_ctx(policy_overrides={"expiry_days": 760}, password_expiry_days=0)
    assert passwords.reset_password(never, admin, "quin", reason="test").user.password_expires_at is None
    nist_90 = make_ctx(password_expiry_days=90)
    assert passwords.reset_password(nist_90, admin, "quin", reason="test").user.password_expires_at == clock.now + timedelta(days=90)


@pytest.mark.parametrize("bad", [-1, 36501, "soon"])
def test_expiry_setting_and_override_refuse_nonsense(bad):
    with pytest.raises(ValueError):
        Settings(password_expiry_days=bad)
    with pytest.raises(ValueError):
        Settings(policy_overrides={"expiry_days": bad})


def test_demo_under_nist_still_has_expired_and_expiring_accounts(make_ctx, tmp_path):
    c = make_ctx(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    assert c.settings.default_expiry_days() == 0
    summary = setup.seed_demo(c, 300)
    reader = Actor(None, "t", "viewer", "local")
    assert summary.expired > 0
    assert listing.count_users(c, reader, filter=UserFilter(expired=True)).value == summary.expired
    # the rest of the demo's passwords carry a date, so the list shows when they run out
    rows = listing.list_users(c, reader, limit=50).items
    assert any(u.password_expires_at is not None and not u.expired for u in rows)
