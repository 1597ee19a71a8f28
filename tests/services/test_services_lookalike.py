"""Names that pass for an operator's (issue 12, item 5): refused when an
account is created, renamed for display, or promoted, under the UTS #39
confusables skeleton; and display names that draw nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.services import listing, users
from console.services.errors import InvalidInput


@pytest.mark.parametrize("username", ["adrnin", "admln", "ADM1N"])
def test_a_username_that_looks_like_an_operator_is_refused(ctx, admin, username):
    with pytest.raises(InvalidInput) as ei:
        users.create_user(ctx, admin, username)
    assert (ei.value.field, ei.value.rule) == ("username", "lookalike")
    assert "admin" in ei.value.message
    assert listing.count_users(ctx, admin).value == 1  # nothing created


@pytest.mark.parametrize("shown", ["Admin", "\u0430dmin", "\u0391DMIN", "a\u200bdmin"])
def test_a_display_name_that_looks_like_an_operator_is_refused(ctx, admin, make_user, shown):
    with pytest.raises(InvalidInput) as ei:
        users.create_user(ctx, admin, "mallory", display_name=shown)
    assert ei.value.field == "display_name" and ei.value.rule in {"lookalike", "no_control"}
    make_user("mallory")
    with pytest.raises(InvalidInput) as ei:
        users.update_profile(ctx, admin, "mallory", display_name=shown)
    assert ei.value.field == "display_name"
    assert listing.get_user(ctx, admin, "mallory").display_name == ""


@pytest.mark.parametrize("shown", ["\u3164", "Ana\u034fLima", "\u2800\u2800", "Bob\ufe0f"])
def test_display_names_that_draw_nothing_are_refused(ctx, admin, shown):
    with pytest.raises(InvalidInput) as ei:
        users.create_user(ctx, admin, "nina", display_name=shown)
    assert (ei.value.field, ei.value.rule) == ("display_name", "no_control")


def test_promoting_an_account_that_looks_like_an_operator_is_refused(ctx, admin, make_user):
    make_user("oscar")
    # the application wrote the display name behind the console's back
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET display_name = 'ADMlN' WHERE username = 'oscar'"))
    with pytest.raises(InvalidInput) as ei:
        users.set_role(ctx, admin, "oscar", "helpdesk")
    assert (ei.value.field, ei.value.rule) == ("display_name", "lookalike")
    assert listing.get_user(ctx, admin, "oscar").role == "member"


def test_ordinary_names_pass(ctx, admin, make_user):
    users.create_user(ctx, admin, "ana.lima", display_name="Ana Lima")
    users.create_user(ctx, admin, "zoe", display_name="Zoë Ñúñez")
    users.create_user(ctx, admin, "olga", display_name="Ольга")
    users.update_profile(ctx, admin, "zoe", display_name="Zoë N.")
    users.set_role(ctx, admin, "ana.lima", "helpdesk")
    # an operator may keep their own name when it changes only in case
    users.update_profile(ctx, admin, "ana.lima", display_name="ANA LIMA")
