"""A throwaway OpenLDAP ``slapd`` for the LDAP store's tests, from Debian's
packages: a generated slapd.conf in a temporary directory (an mdb database,
the ppolicy overlay with a default policy: lockout after 3 failures until an
admin unlocks, pwdMustChange, a pwdMaxAge, history, quality checked; memberof;
sssvlv for server-side sorting), started in the foreground on loopback on a
free port, stopped at the end of the run.

``USERDESK_TEST_SLAPD`` decides:

- unset or ``auto``: start it when ``/usr/sbin/slapd`` is installed, else the
  LDAP store's tests skip with the reason;
- ``off``: skip them;
- ``required`` (CI): start it, and fail if that is not possible.

Each test gets its own ``ou`` under ``ou=people`` (``directory`` fixture),
seeded with inetOrgPerson entries, so tests share the server but no entries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from desks import operator  # noqa: F401  (the tests take it from here)
from ports import free_port

ENV = "USERDESK_TEST_SLAPD"
SLAPD = "/usr/sbin/slapd"
MODULES = "/usr/lib/ldap"
SCHEMA = "/etc/ldap/schema"

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=root,{SUFFIX}"
ADMIN_DN = f"cn=userdesk,ou=system,{SUFFIX}"
#: Writes userPassword without manage access: not a "password administrator"
#: to ppolicy, so its changes are quality-checked and set no pwdReset.
HELPDESK_DN = f"cn=helpdesk,ou=system,{SUFFIX}"
READER_DN = f"cn=reader,ou=system,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
#: The default policy's password lifetime: 90 days.
MAX_AGE = 90 * 86400
MAX_FAILURE = 3
MIN_LENGTH = 12

CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb.la
moduleload ppolicy.la
moduleload memberof.la
moduleload sssvlv.la
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
password-hash {{SSHA}}

database mdb
suffix "{suffix}"
rootdn "{root}"
rootpw {root_pw}
directory {dir}/data
maxsize 104857600
limits dn.exact="{admin}" size=unlimited time=unlimited
limits dn.exact="{helpdesk}" size=unlimited time=unlimited
overlay memberof
memberof-refint TRUE
overlay ppolicy
ppolicy_default "{policy}"
ppolicy_use_lockout
ppolicy_hash_cleartext
overlay sssvlv
access to attrs=userPassword
    by dn.exact="{admin}" manage
    by dn.exact="{helpdesk}" write
    by self write
    by anonymous auth
    by * none
access to *
    by dn.exact="{admin}" manage
    by dn.exact="{helpdesk}" manage
    by self read
    by users read
    by * none
"""


class SlapdUnavailable(RuntimeError):
    pass


@dataclass
class Slapd:
    dir: Path
    port: int
    root_pw: str
    admin_pw: str
    proc: subprocess.Popen | None = None
    #: ldaps:// listens here, and StartTLS is offered, when a certificate could
    #: be made (``ca`` signed it; its name is 127.0.0.1 and localhost).
    tls_port: int | None = None
    ca: Path | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def conn(self, dn: str = ROOT_DN, password: str | None = None):
        """A bound ldap3 connection (the rootdn by default)."""
        import ldap3

        pw = password if password is not None else self.root_pw if dn == ROOT_DN else self.admin_pw
        c = ldap3.Connection(ldap3.Server(self.url, connect_timeout=5), user=dn, password=pw, receive_timeout=10,
                             raise_exceptions=False)
        if not c.bind():
            raise SlapdUnavailable(f"bind as {dn}: {c.result}")
        return c

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _ldif_run(server: Slapd) -> None:
    """The tree every test shares: the system DNs, the policy, the bases."""
    c = server.conn()
    entries = [
        (SUFFIX, {"objectClass": ["dcObject", "organization"], "dc": "example", "o": "Example"}),
        (f"ou=system,{SUFFIX}", {"objectClass": ["organizationalUnit"], "ou": "system"}),
        (ADMIN_DN, {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "userdesk",
                    "userPassword": server.admin_pw}),
        (HELPDESK_DN, {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "helpdesk",
                       "userPassword": server.admin_pw}),
        (READER_DN, {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "reader",
                     "userPassword": server.admin_pw}),
        (f"ou=policies,{SUFFIX}", {"objectClass": ["organizationalUnit"], "ou": "policies"}),
        (POLICY_DN, {"objectClass": ["device", "pwdPolicy"], "cn": "default", "pwdAttribute": "userPassword",
                     "pwdMaxAge": str(MAX_AGE), "pwdInHistory": "3", "pwdCheckQuality": "2",
                     "pwdMinLength": str(MIN_LENGTH), "pwdMaxFailure": str(MAX_FAILURE), "pwdLockout": "TRUE",
                     "pwdLockoutDuration": "0", "pwdMustChange": "TRUE", "pwdAllowUserChange": "TRUE"}),
        (PEOPLE, {"objectClass": ["organizationalUnit"], "ou": "people"}),
        (GROUPS, {"objectClass": ["organizationalUnit"], "ou": "groups"}),
    ]
    for dn, attrs in entries:
        if not c.add(dn, attributes=attrs):
            raise SlapdUnavailable(f"seeding {dn}: {c.result['description']} {c.result['message']}")
    c.unbind()


def _certificates(root: Path) -> bool:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost,
    made with the openssl command; False when it is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return False

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=root, check=True, capture_output=True, timeout=60)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=userdesk test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (root / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                     "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                                     "authorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return True


def start(root: Path) -> Slapd:
    if not Path(SLAPD).exists():
        raise SlapdUnavailable(f"{SLAPD} is not installed (apt-get install slapd ldap-utils)")
    (root / "data").mkdir(parents=True)
    server = Slapd(root, free_port(), uuid.uuid4().hex, uuid.uuid4().hex)
    conf = CONF.format(schema=SCHEMA, modules=MODULES, dir=root, suffix=SUFFIX, root=ROOT_DN, root_pw=server.root_pw,
                       admin=ADMIN_DN, helpdesk=HELPDESK_DN, policy=POLICY_DN)
    urls = f"{server.url}/"
    if _certificates(root):
        server.tls_port, server.ca = free_port(), root / "ca.pem"
        tls = (f"TLSCACertificateFile {root}/ca.pem\nTLSCertificateFile {root}/server.pem\n"
               f"TLSCertificateKeyFile {root}/server.key\n")
        conf = conf.replace("\ndatabase mdb\n", f"\n{tls}\ndatabase mdb\n", 1)
        urls += f" {server.ldaps_url}/"
    (root / "slapd.conf").write_text(conf)
    test = subprocess.run([SLAPD, "-Tt", "-u", "-f", str(root / "slapd.conf")], capture_output=True, text=True)
    if test.returncode != 0:
        raise SlapdUnavailable(f"slapd -Tt refused the generated config: {test.stderr.strip()[-1500:]}")
    log = open(root / "slapd.log", "wb")  # noqa: SIM115 - held by the child
    server.proc = subprocess.Popen([SLAPD, "-d", "0", "-h", urls, "-f", str(root / "slapd.conf")],
                                   stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        if server.proc.poll() is not None:
            raise SlapdUnavailable(f"slapd exited ({server.proc.returncode}): "
                                   f"{(root / 'slapd.log').read_text(errors='replace')[-1500:]}")
        try:
            server.conn().unbind()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                server.stop()
                raise SlapdUnavailable("slapd did not answer within 30 s") from None
            time.sleep(0.1)
    _ldif_run(server)
    return server


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    """The run's slapd (one per xdist worker), started on first use."""
    mode = os.environ.get(ENV, "auto").strip().lower()
    if mode == "off":
        pytest.skip(f"the LDAP store's tests need slapd: {ENV}=off")
    root = Path(tempfile.mkdtemp(prefix="ud-slapd-"))
    try:
        server = start(root)
    except (SlapdUnavailable, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        if mode == "required":
            pytest.fail(f"{ENV}=required and slapd cannot start: {exc}", pytrace=False)
        pytest.skip(f"the LDAP store's tests need OpenLDAP's slapd: {exc}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


OLD = "an old password 1"


class People:
    """One test's people: ``ou=<unique>,ou=people``, entries made on demand."""

    def __init__(self, server: Slapd) -> None:
        self.server = server
        self.ou = f"t{uuid.uuid4().hex[:10]}"
        self.base = f"ou={self.ou},{PEOPLE}"
        c = server.conn()
        assert c.add(self.base, attributes={"objectClass": ["organizationalUnit"], "ou": self.ou}), c.result
        c.unbind()

    def dn(self, uid: str) -> str:
        from ldap3.utils.dn import escape_rdn

        return f"uid={escape_rdn(uid)},{self.base}"

    def make(self, uid: str, password: str | None = OLD, *, cn: str | None = None, mail: str | None = None,
             **extra) -> str:
        attrs = {"objectClass": ["inetOrgPerson"], "uid": uid, "cn": cn or uid.title(), "sn": uid,
                 "mail": mail if mail is not None else f"{uid}@example.org", **extra}
        if password is not None:
            attrs["userPassword"] = password
        c = self.server.conn()
        assert c.add(self.dn(uid), attributes=attrs), c.result
        c.unbind()
        return uid

    def group(self, cn: str, *members: str) -> str:
        dn = f"cn={cn}-{self.ou},{GROUPS}"
        c = self.server.conn()
        assert c.add(dn, attributes={"objectClass": ["groupOfNames"], "cn": f"{cn}-{self.ou}",
                                     "member": [self.dn(m) for m in members]}), c.result
        c.unbind()
        return dn

    def binds(self, uid: str, password: str) -> bool:
        import ldap3

        c = ldap3.Connection(ldap3.Server(self.server.url, connect_timeout=5), user=self.dn(uid), password=password,
                             raise_exceptions=False)
        try:
            return bool(c.bind())
        finally:
            c.unbind()

    def whoami_ppolicy(self, uid: str, password: str) -> str:
        """``ldapwhoami -e ppolicy`` as the person: the server's own report."""
        r = subprocess.run(["ldapwhoami", "-x", "-H", self.server.url, "-D", self.dn(uid), "-w", password,
                            "-e", "ppolicy"], capture_output=True, text=True, timeout=30)
        return r.stdout + r.stderr

    def attrs(self, uid: str) -> dict:
        c = self.server.conn()
        c.search(self.dn(uid), "(objectClass=*)", search_scope="BASE",
                 attributes=["*", "pwdChangedTime", "pwdFailureTime", "pwdAccountLockedTime", "pwdReset",
                             "pwdHistory", "memberOf"])
        out = dict(c.response[0]["attributes"]) if c.response and c.response[0].get("type") == "searchResEntry" \
            else {}
        c.unbind()
        return out


@pytest.fixture
def people(slapd):
    return People(slapd)


# -- userdesk on the directory ---------------------------------------------------


def password_file(tmp_path: Path, secret: str, name: str = "ldap-bind-password") -> Path:
    p = tmp_path / name
    p.write_text(secret + "\n")
    p.chmod(0o600)
    return p


def ldap_settings(tmp_path: Path, server: Slapd, people: People, *, dn: str = ADMIN_DN, **kw):
    from console.config import Settings

    values = dict(store="ldap", database_url=server.url, desk_url=f"sqlite:///{tmp_path / 'desk.db'}",
                  ldap_bind_dn=dn, ldap_bind_password_file=str(password_file(tmp_path, server.admin_pw)),
                  ldap_people_base=people.base, ldap_default_policy_dn=POLICY_DN)
    values.update(kw)
    return Settings(**values)


@pytest.fixture
def make_lctx(tmp_path, slapd, people, open_desk):
    def make(dn: str = ADMIN_DN, **kw):
        return open_desk(ldap_settings(tmp_path, slapd, people, dn=dn, **kw))

    return make


@pytest.fixture
def lctx(make_lctx):
    """A context on the ldap store, bound as the password administrator."""
    return make_lctx()


class CuttingProxy:
    """A TCP relay to slapd on loopback that, once armed, passes one LDAP
    request of the given operation (BER application tag, e.g. 0x77 an
    extended request, 0x66 a modify) on to the server and then cuts both
    connections before the server's answer can come back: the change was
    sent and the client never learns whether it was taken."""

    def __init__(self, server: Slapd, cut_on: int) -> None:
        import socket
        import threading

        self.server, self.cut_on, self.armed, self.cut = server, cut_on, False, threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @staticmethod
    def _op(chunk: bytes) -> int | None:
        try:
            i = 2 if chunk[1] < 0x80 else 2 + (chunk[1] & 0x7F)
            if chunk[0] != 0x30 or chunk[i] != 0x02:
                return None
            return chunk[i + 2 + chunk[i + 1]]
        except IndexError:
            return None

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut.is_set():  # cut off: as a server that went away
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.server.port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, from_client: bool) -> None:
        import socket

        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if from_client and self.armed and self._op(chunk) == self.cut_on:
                    self.armed = False
                    self.cut.set()  # from now on nothing the server says reaches the client
                elif not from_client and self.cut.is_set():
                    break  # the server answered (so it has performed the change): drop the answer, cut both
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv, and tells the peer
                except OSError:
                    pass
                s.close()

    def heal(self) -> None:
        """The way to the server is back."""
        self.cut.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
