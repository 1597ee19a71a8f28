"""Each PostgreSQL test's database, reused rather than copied anew.

``CREATE DATABASE … TEMPLATE`` copies the template's 8 MB, every block of it
through the write-ahead log: 120–350 ms of the server's CPU on a 2-core
machine, once for each of the run's thousand PostgreSQL tests. A finished
test's database is instead emptied and handed to the next test, once it is
shown to be the same as a fresh copy:

- every other connection to it is ended first;
- its tables are truncated, all in one statement (new files: a table and its
  indexes are as small as a new copy's, not emptied pages), triggers off for
  it (``session_replication_role = replica``), the rows the template holds
  (``alembic_version``, ``audit_head``) put back as they were, each sequence
  set back where the template's stands, the planner's statistics
  (``pg_class``'s page and row counts, ``pg_statistic``) put back as the
  template has them, and the database's activity counters reset
  (``pg_stat_reset``: autovacuum counts no changed row, as in a new copy);
- then its fingerprint (schema, grants, owners, sequences, extensions,
  settings, each relation's size on disk, and the template's rows:
  ``fingerprint``) is compared with the template's. Any difference, or any
  error on the way, and it is dropped as before: a test that migrates,
  downgrades, alters or grants gets its own fresh database, and so does the
  next.

A database comes back to the pool of the template it now equals (a test that
started from the bare template and migrated it equals the migrated one).
A connection the test left that reconnects later could write into the next
test's database, where a dropped one refused it: the tests dispose of their
engines before this runs."""

from __future__ import annotations

import json
import uuid

import psycopg

#: Everything a test could change in a database that a fresh copy would not
#: have, other than the rows of its tables: one line per object, sorted, no oids.
_FINGERPRINT = r"""
WITH rels AS (
    SELECT c.* FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
)
SELECT x FROM (
    SELECT format('ns %s %s %s', nspname, nspowner::regrole, nspacl) FROM pg_namespace
    UNION ALL SELECT format('rel %s %s %s %s %s %s', oid::regclass, relkind, relowner::regrole, relacl, reloptions,
                            relpersistence) FROM rels
    UNION ALL SELECT format('col %s %s %s %s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod),
                            a.attnotnull, a.attgenerated, a.attidentity, pg_get_expr(d.adbin, d.adrelid))
        FROM pg_attribute a JOIN rels r ON r.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rels r ON r.oid = i.indrelid
    UNION ALL SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(c.oid))
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL SELECT format('trigger %s %s', pg_get_triggerdef(t.oid), t.tgenabled) FROM pg_trigger t
        JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL SELECT format('function %s %s %s %s', p.oid::regprocedure, p.proowner::regrole, p.proacl, md5(p.prosrc))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL SELECT format('type %s %s', t.oid::regtype, t.typowner::regrole) FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
    UNION ALL SELECT format('view %s %s', oid::regclass, pg_get_viewdef(oid)) FROM rels WHERE relkind IN ('v', 'm')
    UNION ALL SELECT format('policy %s %s %s', polrelid::regclass, polname, pg_get_expr(polqual, polrelid))
        FROM pg_policy
    UNION ALL SELECT format('rls %s %s %s', oid::regclass, relrowsecurity, relforcerowsecurity) FROM rels
        WHERE relrowsecurity OR relforcerowsecurity
    UNION ALL SELECT format('sequence %s %s %s %s %s', schemaname, sequencename, start_value, increment_by, last_value)
        FROM pg_sequences
    UNION ALL SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL SELECT format('default acl %s', defaclacl) FROM pg_default_acl
    UNION ALL SELECT format('event trigger %s', evtname) FROM pg_event_trigger
    UNION ALL SELECT format('setting %s %s', setrole, setconfig) FROM pg_db_role_setting
        WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL SELECT format('database %s %s %s', datdba::regrole, datacl, datconnlimit) FROM pg_database
        WHERE datname = current_database()
    UNION ALL SELECT format('statistics %s', count(*)) FROM pg_statistic s JOIN rels r ON r.oid = s.starelid
    UNION ALL SELECT format('sizes %s %s %s %s %s', oid::regclass, relpages, reltuples, relallvisible,
                            pg_relation_size(oid)) FROM rels WHERE relkind IN ('r', 'i', 'm', 't')
) lines(x) ORDER BY x
"""


_TABLES = ("SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
           "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")


class _Template:
    """What a fresh copy of one template is: its fingerprint, its tables'
    rows, its sequences' positions and its planner statistics."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.tables = [r[0] for r in conn.execute(_TABLES)]
        self.rows = {t: conn.execute(f"SELECT coalesce(json_agg(t), '[]') FROM {t} t").fetchone()[0]
                     for t in self.tables}
        self.rows = {t: rows for t, rows in self.rows.items() if rows}
        self.sequences = conn.execute(
            "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, start_value), last_value IS NOT NULL "
            "FROM pg_sequences").fetchall()
        self.sizes = conn.execute(
            "SELECT c.oid::regclass::text, c.relpages, c.reltuples, c.relallvisible FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
            "AND c.relkind IN ('r', 'i', 'm', 't')").fetchall()
        self.fingerprint = fingerprint(conn)


def fingerprint(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(_FINGERPRINT)]


class Pool:
    """The databases of one worker's tests, by the template each is a copy of."""

    def __init__(self, cluster, templates: list[str]) -> None:
        self.cluster = cluster
        self.templates: dict[str, _Template] = {}
        for name in templates:  # read before any copy is made: a template in use cannot be copied
            with self._connect(name) as conn:
                self.templates[name] = _Template(conn)
        self.free: dict[str, list[str]] = {name: [] for name in templates}
        self.reused = self.created = self.dropped = 0

    def counts(self) -> list[int]:
        """Databases copied from a template, reused, dropped (in that order)."""
        return [self.created, self.reused, self.dropped]

    def _connect(self, database: str) -> psycopg.Connection:
        c = self.cluster
        return psycopg.connect(host=c.host, port=c.port, user=c.user, password=c.password, dbname=database,
                               autocommit=True)

    def take(self, template: str) -> str:
        """A database equal to a fresh copy of ``template``."""
        if self.free[template]:
            self.reused += 1
            return self.free[template].pop()
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.cluster.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self.created += 1
        return name

    def give_back(self, name: str) -> None:
        """Done with ``name``: emptied and kept if it then equals a template's
        fresh copy, else dropped."""
        try:
            template = self._reset(name)
        except psycopg.Error:
            template = None
        if template is not None:
            self.free[template].append(name)
            return
        self.dropped += 1
        with self.cluster.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _reset(self, name: str) -> str | None:
        with self._connect(name) as conn:
            for _ in range(200):  # nothing of the test's left connected
                others = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
                if not others:
                    break
                conn.execute("SELECT pg_sleep(0.01)")
            else:
                return None
            tables = [r[0] for r in conn.execute(_TABLES)]
            template = next((t for t, tpl in self.templates.items() if tpl.tables == tables), None)
            if template is None:
                return None
            tpl = self.templates[template]
            if tables:
                with conn.transaction():
                    conn.execute("SET LOCAL session_replication_role = replica")  # no trigger, no foreign key
                    conn.execute("TRUNCATE " + ", ".join(tables))  # new files: no page, no index entry left
                    for table, rows in tpl.rows.items():
                        conn.execute(f"INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, %s)",
                                     (json.dumps(rows),))
            with conn.transaction():
                if tpl.sequences:
                    conn.execute("SELECT setval(s, v, c) FROM unnest(%s::regclass[], %s::bigint[], %s::bool[]) "
                                 "u(s, v, c)", [list(col) for col in zip(*tpl.sequences)])
                conn.execute("DELETE FROM pg_statistic s USING pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE s.starelid = c.oid AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
                if tpl.sizes:
                    conn.execute("UPDATE pg_class c SET relpages = u.p, reltuples = u.t, relallvisible = u.v "
                                 "FROM unnest(%s::regclass[], %s::int[], %s::real[], %s::int[]) u(r, p, t, v) "
                                 "WHERE c.oid = u.r", [list(col) for col in zip(*tpl.sizes)])
                conn.execute("SELECT pg_stat_reset()")  # autovacuum's counts of changed rows: none, as in a new copy
            rows = conn.execute(" UNION ALL ".join(f"SELECT '{table}', coalesce(json_agg(t), '[]') FROM {table} t"
                                                   for table in tables)).fetchall() if tables else []
            if dict(rows) == {t: tpl.rows.get(t, []) for t in tables} and fingerprint(conn) == tpl.fingerprint:
                return template
        return None

    def close(self) -> None:
        with self.cluster.admin() as conn:
            for names in self.free.values():
                for name in names:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                names.clear()
