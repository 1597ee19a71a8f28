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
descriptors, SCM_RIGHTS, and what the test's environment changed since the
forker started) answers the child's pid; ``wait`` reaps it and answers its
exit code as ``subprocess`` gives one (``-9`` for SIGKILL). Every answer is
awaited for at most a minute: a stuck forker fails the test. When the test's
end closes, the forker kills and reaps any child it still has.

What a child shares with its siblings, unlike new interpreters: the forker's
string-hash seed, its working directory and its umask (the workers take
absolute paths and depend on none of them). ``random`` is reseeded at each
fork.

    python forker.py FD MODULE...     # the forker itself: FD, its end of the pair
"""

from __future__ import annotations

import gc
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
_TIMEOUT = 60.0


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
        """Read both pipes to their end, then reap the child; its exit code in
        ``returncode``. For a child that was killed or has exited: a live one
        filling its stderr while stdout is read would wait forever."""
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
    the forker with those modules imported (``"module:function"`` also calls
    the function: a cache every child would fill the same way);
    ``spawn(script, args)`` starts a worker; ``close()`` ends the forker."""

    def __init__(self, preload: Sequence[str]) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.settimeout(_TIMEOUT)
        self._sock = mine
        self._env = dict(os.environ)  # the forker's, as it starts
        self._proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno()), *preload],
                                      pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
        theirs.close()
        ready = self._sock.recv(_MAX)
        if ready != b'{"ready": true}':
            self._proc.wait(timeout=30)
            raise RuntimeError(f"the forker did not start (exit {self._proc.returncode}; its stderr is the test's)")

    def _ask(self, request: dict, fds: Sequence[int] = ()) -> dict:
        """Send a request and return its answer (a timeout raises, and the
        requests and answers are then out of step: the forker is closed)."""
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
            answer = self._sock.recv(_MAX)
        except OSError:
            self.close()
            raise
        if not answer:
            raise RuntimeError("the forker exited")
        answer = json.loads(answer)
        if "error" in answer:
            raise RuntimeError(f"the forker refused {sorted(request)}: {answer['error']}")
        return answer

    def spawn(self, script: Path, args: Sequence[str]) -> Child:
        env = {k: v for k, v in os.environ.items() if self._env.get(k) != v}
        unset = [k for k in self._env if k not in os.environ]
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid = self._ask({"spawn": str(script), "argv": list(args), "env": env, "unset": unset},
                            [out_w, err_w])["pid"]
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        return Child(self, pid, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))

    def close(self) -> None:
        self._sock.close()  # the forker reads the end, kills what it still has, and exits
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# -- the forker's side ---------------------------------------------------------------------------------


def _run_child(script: str, argv: list[str], env: dict[str, str], unset: list[str], out: int, err: int) -> None:
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
        for name in unset:
            os.environ.pop(name, None)
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


def _answer(sock: socket.socket, msg: bytes, fds: list[int], flags: int, children: set[int]) -> dict:
    """The forker's answer to one request (in a spawned child: never returns)."""
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        return {"error": f"a request over {_MAX} bytes"}
    request = json.loads(msg)
    if "spawn" in request and len(fds) == 2:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run_child(request["spawn"], request["argv"], request["env"], request["unset"], *fds)
        children.add(pid)
        return {"pid": pid}
    if "wait" in request and request["wait"] in children and not fds:
        _, status = os.waitpid(request["wait"], 0)
        children.discard(request["wait"])
        return {"returncode": os.waitstatus_to_exitcode(status)}
    return {"error": "not a request this forker knows (a spawn passes its two pipes, a wait none)"}


def _serve(fd: int, preload: list[str]) -> None:
    sock = socket.socket(fileno=fd)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for name in preload:  # "module", or "module:function" to call once imported (a cache to fill)
        module, _, function = name.partition(":")
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()
    # What the children share stays shared: no collection in a child rewrites
    # the headers of the forker's objects (copying every page of them).
    gc.freeze()
    sock.send(b'{"ready": true}')
    children: set[int] = set()
    try:
        while True:
            msg, fds, flags, _addr = socket.recv_fds(sock, _MAX, 2)
            if not msg:
                return
            try:
                sock.send(json.dumps(_answer(sock, msg, fds, flags, children)).encode())
            finally:
                for f in fds:  # the child has its own copies; the forker keeps none
                    os.close(f)
    finally:
        for pid in children:  # the test ended without them: none goes on working
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2:])
