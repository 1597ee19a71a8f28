"""Screenshots of every screen at 80×24, made from demo data.

    python -m console.screenshots [--out screenshots]

The same scenes back the snapshot tests. Everything runs on a throw-away demo
database with a fixed clock, so the pictures only change when the screens do.
No secret is ever in a picture: the reveal dialog is captured hidden (``h``)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from console.config import Settings
from console.security.hashing import Argon2Params
from console.services import auth, setup
from console.services.context import ServiceContext
from console.tui.app import UserdeskApp
from console.tui.clipboard import Clipboard

SIZE = (80, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

Steps = Callable[["object"], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    signed_in: bool
    steps: Steps


def _no_local_clipboard(_text: str) -> None:
    import pyperclip

    raise pyperclip.PyperclipException("no local clipboard in screenshots")


def build_context(workdir: Path, users: int = 250) -> ServiceContext:
    settings = Settings(database_url=f"sqlite:///{workdir / 'screens.db'}", trusted_operator=True,
                        audit_key_file=str(workdir / "audit.key"))  # a throw-away desk's key beside it
    ctx = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest(), clock=lambda: NOW)
    setup.seed_demo(ctx, users, seed=7)
    return ctx


def make_app(ctx: ServiceContext, workdir: Path, *, signed_in: bool = True) -> UserdeskApp:
    actor = auth.trusted_operator(ctx, "demo-admin") if signed_in else None
    return UserdeskApp(
        ctx,
        actor=actor,
        demo=True,
        remember_path=workdir / "console.json",
        clipboard=Clipboard(lambda _t: None, env={}, local_copy=_no_local_clipboard, local_paste=lambda: ""),
        monotonic=lambda: 0.0,  # the countdown reads the same however slow the machine
    )


async def _settle(pilot) -> None:
    from textual.widgets import Input

    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor makes a picture depend on timing


async def _nothing(pilot) -> None:
    await _settle(pilot)


async def _attention(pilot) -> None:
    await _settle(pilot)
    await pilot.press("n")
    await _settle(pilot)


async def _search(pilot) -> None:
    await _settle(pilot)
    await pilot.press("slash", *"nova")
    await pilot.pause(0.4)
    await _settle(pilot)
    await pilot.press("down")  # to the rows (Enter would open the first match)
    await _settle(pilot)


async def _detail(pilot) -> None:
    await _search(pilot)
    await pilot.press("enter")
    await _settle(pilot)


async def _danger(pilot) -> None:
    await _detail(pilot)
    await pilot.press("d")
    await _settle(pilot)


async def _help(pilot) -> None:
    await _detail(pilot)
    await pilot.press("question_mark")
    await _settle(pilot)


async def _reset_dialog(pilot) -> None:
    await _danger(pilot)
    await pilot.press("enter")
    await _settle(pilot)
    await pilot.press("tab", "tab", *"called from the office line")
    await _settle(pilot)


async def _set_dialog(pilot) -> None:
    await _danger(pilot)
    await pilot.press("down", "enter")
    await _settle(pilot)
    await pilot.press(*"short1")
    await pilot.pause(0.2)
    await _settle(pilot)


async def _reveal(pilot) -> None:
    await _reset_dialog(pilot)
    await pilot.press("ctrl+s")
    await _settle(pilot)
    await pilot.press("h")  # hidden: no secret in a picture
    await _settle(pilot)


async def _bulk(pilot) -> None:
    await _settle(pilot)
    await pilot.press("b")
    await _settle(pilot)
    await pilot.press("tab", "tab", *"90")
    await pilot.pause(0.5)
    await _settle(pilot)


async def _audit(pilot) -> None:
    await _settle(pilot)
    await pilot.press("a")
    await _settle(pilot)


async def _own_password(pilot) -> None:
    await _settle(pilot)
    await pilot.press("p")
    await _settle(pilot)


async def _palette(pilot) -> None:
    from textual.command import CommandList

    await _settle(pilot)
    await pilot.press("ctrl+p", *"theme")
    # Results arrive in batches: wait until all three themes are listed and settled.
    for _ in range(50):
        await pilot.pause(0.1)
        lists = pilot.app.screen.query(CommandList)
        if lists and lists.first().option_count >= 3:
            break
    await pilot.pause(0.5)
    await _settle(pilot)


SCENES = [
    Scene("signin", "Sign-in", False, _nothing),
    Scene("users", "User list", True, _nothing),
    Scene("users-attention", "Needs attention first", True, _attention),
    Scene("users-search", "Search as you type", True, _search),
    Scene("detail", "User detail", True, _detail),
    Scene("danger-zone", "Danger zone", True, _danger),
    Scene("help", "Help (?) on an account", True, _help),
    Scene("reset-dialog", "Reset password dialog", True, _reset_dialog),
    Scene("set-password", "Set password with the live policy checklist", True, _set_dialog),
    Scene("reveal", "Reveal (hidden with h)", True, _reveal),
    Scene("audit", "Audit log", True, _audit),
    Scene("bulk", "Bulk action by filter", True, _bulk),
    Scene("own-password", "Change my password", True, _own_password),
    Scene("palette", "Command palette", True, _palette),
]


async def capture(scene: Scene, out: Path, workdir: Path) -> Path:
    ctx = build_context(workdir / scene.name)
    try:
        app = make_app(ctx, workdir / scene.name, signed_in=scene.signed_in)
        async with app.run_test(size=SIZE) as pilot:
            await scene.steps(pilot)
            path = out / f"{scene.name}.svg"
            path.write_text(app.export_screenshot(title=f"userdesk — {scene.title}"))
        return path
    finally:
        ctx.engine.dispose()


async def main_async(out: Path, only: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for scene in SCENES:
            if only and scene.name not in only:
                continue
            (Path(tmp) / scene.name).mkdir()
            written.append(await capture(scene, out, Path(tmp)))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("scenes", nargs="*", help="only these scenes")
    args = parser.parse_args()
    for path in asyncio.run(main_async(args.out, args.scenes or None)):
        print(path)


if __name__ == "__main__":
    main()
