"""Every screen at 80×24 on demo data, compared with the stored SVG snapshot.

The scenes are the ones `python -m console.screenshots` draws. After an intended
change to a screen: `pytest tests/snapshots --snapshot-update`, then look at the
new pictures before committing them."""

from __future__ import annotations

import pytest

from console.screenshots import SCENES, SIZE, build_context, make_app


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_screen(scene, snap_compare, tmp_path):
    ctx = build_context(tmp_path)
    try:
        app = make_app(ctx, tmp_path, signed_in=scene.signed_in)
        assert snap_compare(app, terminal_size=SIZE, run_before=scene.steps)
    finally:
        ctx.engine.dispose()
