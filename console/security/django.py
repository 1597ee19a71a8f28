"""Django's own formats, as pure functions: the stored password (``algorithm$…``,
django/contrib/auth/hashers.py) and the password-reset token
(django/contrib/auth/tokens.py), so that a Django project accepts what userdesk
writes. No crypto of our own: PBKDF2 and scrypt are hashlib's, argon2 is
argon2-cffi's, bcrypt is the bcrypt library's; each function below only lays
out their result the way Django does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

#: Django's RANDOM_STRING_CHARS, and the salt length its hashers draw (128 bits).
SALT_CHARS = string.ascii_letters + string.digits
SALT_LENGTH = math.ceil(128 / math.log2(len(SALT_CHARS)))

#: The defaults of Django 5.2 (LTS) for each hasher userdesk can write.
PBKDF2_ITERATIONS = 1_000_000
ARGON2 = {"time_cost": 2, "memory_cost": 102400, "parallelism": 8}
BCRYPT_ROUNDS = 12
SCRYPT = {"n": 2**14, "r": 8, "p": 5}

WRITABLE = ("pbkdf2_sha256", "argon2", "bcrypt_sha256", "scrypt")
#: Hashers Django still reads but no longer recommends (unsalted or fast).
LEGACY = ("pbkdf2_sha1", "sha1", "md5", "unsalted_md5", "unsalted_sha1", "crypt", "bcrypt")

RESET_KEY_SALT = "django.contrib.auth.tokens.PasswordResetTokenGenerator"
EPOCH = datetime(2001, 1, 1)


def salt() -> str:
    return "".join(secrets.choice(SALT_CHARS) for _ in range(SALT_LENGTH))


@dataclass(frozen=True)
class HashInfo:
    """What a stored Django password says about itself, without its secret parts."""

    algorithm: str
    #: The work factor as numbers: {"iterations": n}, {"m": .., "t": .., "p": ..},
    #: {"rounds": n} or {"n": .., "r": .., "p": ..}; empty when unknown.
    params: tuple[tuple[str, int], ...] = ()
    usable: bool = True

    def work_text(self) -> str:
        if not self.usable:
            return "unusable password (cannot sign in with a password)"
        p = dict(self.params)
        if self.algorithm.startswith("pbkdf2"):
            return f"{p['iterations']:,} iterations"
        if self.algorithm == "argon2":
            return f"m={p['m']:,} KiB, t={p['t']}, p={p['p']}"
        if self.algorithm.startswith("bcrypt"):
            return f"cost {p['rounds']}"
        if self.algorithm == "scrypt":
            return f"N={p['n']:,}, r={p['r']}, p={p['p']}"
        return "fast hash (no work factor)"

    def weaker_than(self, current: "HashInfo") -> bool:
        """Whether Django would rehash this on the next sign-in under ``current``
        (another algorithm, or a lower work factor), or it is a legacy one."""
        if not self.usable:
            return False
        if self.algorithm in LEGACY or self.algorithm != current.algorithm:
            return True
        mine, theirs = dict(self.params), dict(current.params)
        return any(mine.get(k, 0) < v for k, v in theirs.items())


def identify(encoded: str | None) -> HashInfo:
    """The algorithm and work factor of a stored password. Never raises: an
    unreadable value is reported as such."""
    if not encoded or encoded.startswith("!"):
        return HashInfo("unusable", (), usable=False)
    algorithm, _, rest = encoded.partition("$")
    try:
        if algorithm in ("pbkdf2_sha256", "pbkdf2_sha1"):
            return HashInfo(algorithm, (("iterations", int(rest.split("$", 1)[0])),))
        if algorithm == "argon2":
            fields = dict(kv.split("=", 1) for kv in rest.split("$")[2].split(","))
            return HashInfo(algorithm, (("m", int(fields["m"])), ("t", int(fields["t"])), ("p", int(fields["p"]))))
        if algorithm in ("bcrypt_sha256", "bcrypt"):
            return HashInfo(algorithm, (("rounds", int(rest.split("$")[2])),))
        if algorithm == "scrypt":
            n, _salt, r, p, _h = rest.split("$", 4)
            return HashInfo(algorithm, (("n", int(n)), ("r", int(r)), ("p", int(p))))
    except (ValueError, IndexError, KeyError):
        return HashInfo(f"{algorithm} (unreadable)", (), usable=True)
    return HashInfo(algorithm or "unknown", ())


def encode(password: str, like: HashInfo) -> str:
    """``password`` in Django's format for the hasher and work factor of ``like``
    (the project's current hasher). ValueError for a hasher userdesk cannot
    write; RuntimeError when its library is missing (bcrypt)."""
    p = dict(like.params)
    algorithm = like.algorithm
    pw = password.encode()
    if algorithm == "pbkdf2_sha256":
        iterations = p.get("iterations", PBKDF2_ITERATIONS)
        s = salt()
        digest = hashlib.pbkdf2_hmac("sha256", pw, s.encode(), iterations)
        return f"pbkdf2_sha256${iterations}${s}${base64.b64encode(digest).decode('ascii').strip()}"
    if algorithm == "argon2":
        from argon2 import low_level

        data = low_level.hash_secret(
            pw, salt().encode(), time_cost=p.get("t", ARGON2["time_cost"]),
            memory_cost=p.get("m", ARGON2["memory_cost"]), parallelism=p.get("p", ARGON2["parallelism"]),
            hash_len=32, type=low_level.Type.ID,
        )
        return "argon2" + data.decode("ascii")
    if algorithm == "bcrypt_sha256":
        try:
            import bcrypt
        except ImportError:  # pragma: no cover - bcrypt is a dependency
            raise RuntimeError("the bcrypt library is not installed") from None
        prehashed = binascii.hexlify(hashlib.sha256(pw).digest())
        return "bcrypt_sha256$" + bcrypt.hashpw(prehashed, bcrypt.gensalt(p.get("rounds", BCRYPT_ROUNDS))).decode()
    if algorithm == "scrypt":
        n, r, par = p.get("n", SCRYPT["n"]), p.get("r", SCRYPT["r"]), p.get("p", SCRYPT["p"])
        s = salt()
        digest = hashlib.scrypt(pw, salt=s.encode(), n=n, r=r, p=par, maxmem=256 * n * r + 1024 * 1024, dklen=64)
        return f"scrypt${n}${s}${r}${par}${base64.b64encode(digest).decode('ascii').strip()}"
    raise ValueError(f"userdesk cannot write Django's {algorithm!r} hasher (it writes {', '.join(WRITABLE)})")


def uidb64(pk: int | str) -> str:
    """django.utils.http.urlsafe_base64_encode(force_bytes(pk))."""
    return base64.urlsafe_b64encode(str(pk).encode()).rstrip(b"\n=").decode("ascii")


def _base36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if n == 0:
            return out


def reset_token(*, pk: int, password: str, last_login: datetime | None, email: str | None, secret: str,
                now: datetime) -> str:
    """PasswordResetTokenGenerator().make_token(user), sha256, for a user whose
    row holds these values. ``last_login``: as Django reads it, without its
    time zone (UTC when USE_TZ); ``now``: the Django process's local time, naive."""
    timestamp = int((now - EPOCH).total_seconds())
    login = "" if last_login is None else last_login.replace(microsecond=0, tzinfo=None)
    value = f"{pk}{password}{login}{timestamp}{email or ''}"
    key = hashlib.sha256((RESET_KEY_SALT + secret).encode()).digest()
    digest = hmac.new(key, msg=value.encode(), digestmod=hashlib.sha256).hexdigest()[::2]
    return f"{_base36(timestamp)}-{digest}"
