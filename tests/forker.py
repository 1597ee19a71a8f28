"""Start a worker script as a new process without paying for its imports each
time: the crash tests kill a worker with SIGKILL, start another, many times
over, and every start imported SQLAlchemy, SQLModel, the services and a
store's driver again (half a second of CPU each; a crash test is 16 rounds).

A forker is a Python process that imports those modules once, then forks a
child per worker: the child is a process of its own (its own pid, its own
connections, killed by a real SIGKILL), started from the forker's state, in
which nothing but imports has happened (no thread, no connection, no engine).
It runs the script as ``python SCRIPT ARG...`` would (``runpy``, as
``__main__``), its stdout and stderr the pipes the test reads.

The test and the forker talk over a SOCK_SEQPACKET socket pair, one message a
request: ``spawn`` (with the two pipes' write ends passed as file
descriptors, SCM_RIGHTS) answers the child's pid; ``wait`` reaps it and
answers its exit code as ``subprocess`` gives one (``-9`` for SIGKILL).

    python forker.py FD MODULE...     # the forker itself: FD, its end of the pair
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Sequence

_MAX = 1 << 16


class Child:
    """A worker the forker started: its pid, and the read ends of its stdout and stderr."""

    def __init__(self, forker: "Forker", pid: int, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self._forker = forker
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def communicate(self) -> tuple[bytes, bytes]:
        """Read both pipes to their end (the child's end: it exited or was
        killed), then reap the child; its exit code in ``returncode``."""
        out, err = self.stdout.read(), self.stderr.read()
        self.stdout.close()
        self.stderr.close()
        self.wait()
        return out, err

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self._forker._ask({"wait": self.pid})["returncode"]
        return self.returncode


class Forker:
    """The test's side: ``Forker(["console.services.accounts", ...])`` starts
    the forker with those modules imported; ``spawn(script, args)`` starts a
    worker; ``close()`` ends the forker."""

    def __init__(self, preload: Sequence[str]) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = mine
        self._proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno()), *preload],
                                      pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
        theirs.close()
        ready = self._sock.recv(_MAX)
        if ready != b'{"ready": true}':
            self._proc.wait(timeout=30)
            raise RuntimeError(f"the forker did not start (exit {self._proc.returncode}; its stderr is the test's)")

    def _ask(self, request: dict, fds: Sequence[int] = ()) -> dict:
        socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
        answer = self._sock.recv(_MAX)
        if not answer:
            raise RuntimeError("the forker exited")
        return json.loads(answer)

    def spawn(self, script: Path, args: Sequence[str]) -> Child:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid = self._ask({"spawn": str(script), "argv": list(args), "env": dict(os.environ)},
                            [out_w, err_w])["pid"]
        finally:
            os.close(out_w)
            os.close(err_w)
        return Child(self, pid, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))

    def close(self) -> None:
        self._sock.close()  # the forker reads an empty message and exits
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# -- the forker's side ---------------------------------------------------------------------------------


def _run_child(script: str, argv: list[str], env: dict[str, str], out: int, err: int) -> None:
    """In the forked child: become ``python script argv...``, in the test's
    environment as it is now, and never return."""
    import runpy
    import traceback

    code = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [script, *argv]
        sys.path.insert(0, str(Path(script).resolve().parent))
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child reports and exits, whatever it was
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def _serve(fd: int, preload: list[str]) -> None:
    sock = socket.socket(fileno=fd)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for name in preload:
        importlib.import_module(name)
    sock.send(b'{"ready": true}')
    while True:
        msg, fds, _flags, _addr = socket.recv_fds(sock, _MAX, 2)
        if not msg:
            return
        request = json.loads(msg)
        if "spawn" in request:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                sock.close()
                _run_child(request["spawn"], request["argv"], request["env"], *fds)
            for f in fds:
                os.close(f)
            sock.send(json.dumps({"pid": pid}).encode())
        elif "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            sock.send(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2:])
