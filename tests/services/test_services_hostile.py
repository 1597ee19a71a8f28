"""The hostile-input corpus through the services' validation: every value is
either refused with INVALID_INPUT naming the field, changing nothing, or
stored exactly as given."""

from __future__ import annotations

import pytest

from console.services import listing, passwords, users
from console.services.errors import InvalidInput
from hostile import CORPUS, unsafe

ITEMS = sorted(CORPUS.items())


@pytest.mark.parametrize("name, value", ITEMS, ids=[n for n, _ in ITEMS])
def test_as_a_username_or_email_it_is_refused(ctx, admin, db_rows, name, value):
    """Usernames and emails are ASCII of a small alphabet: nothing here fits."""
    before = db_rows(exclude=("audit_events", "audit_head"))
    with pytest.raises(InvalidInput) as ei:
        users.create_user(ctx, admin, value)
    assert ei.value.field == "username"
    with pytest.raises(InvalidInput) as ei:
        users.create_user(ctx, admin, "okname", email=value)
    assert ei.value.field == "email"
    assert db_rows(exclude=("audit_events", "audit_head")) == before


@pytest.mark.parametrize("name, value", ITEMS, ids=[n for n, _ in ITEMS])
def test_as_free_text_it_is_refused_or_kept_exactly(ctx, admin, make_user, name, value):
    make_user("bob")
    for field, call in (
        ("display_name", lambda: users.update_profile(ctx, admin, "bob", display_name=value)),
        ("reason", lambda: passwords.force_change(ctx, admin, "bob", reason=value)),
        ("search", lambda: listing.list_users(ctx, admin, search=value)),
    ):
        fits = not unsafe(value) and (field != "display_name" or len(value) <= 128) and (
            field != "search" or len(value) <= 200)
        if fits:
            call()
        else:
            with pytest.raises(InvalidInput) as ei:
                call()
            assert ei.value.field == field and ei.value.message.startswith(field)
            assert value not in ei.value.message  # the error names the rule, not the value
    shown = listing.get_user(ctx, admin, "bob")
    assert shown.display_name in ("", value)
    if not unsafe(value) and len(value) <= 128:
        assert shown.display_name == value  # stored as given: markup and SQL are just text
