"""The database handle: engine, sessions, migrations and health check.

SQLite (the embedded default) and PostgreSQL (production) behind one class. Driver and
SQLAlchemy exceptions are translated here into :mod:`assist.errors` classes, so callers never
see a vendor exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from assist.errors import ConfigError, ConflictError, DatabaseError

if TYPE_CHECKING:
    from assist.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Database:
    """A SQLAlchemy engine plus session factory for SQLite or PostgreSQL.

    SQLite gets WAL (readers do not block the writer), foreign keys on, a busy timeout and
    ``check_same_thread=False`` (FastAPI runs sync code in a thread pool); the parent folder of
    the file is created. Connection failures become ``DatabaseError(retryable=True)`` naming
    the URL without its password.

    Args:
        url: A SQLAlchemy URL: ``sqlite:///path/assist.db``, ``sqlite://`` (in memory) or
            ``postgresql+psycopg://user:pw@host:5432/db``.
        schema: PostgreSQL only: keep every table (and ``alembic_version``) in this schema,
            created by :meth:`migrate` if missing. Used to isolate tests and co-hosted installs.
        echo: Log every SQL statement (debugging).

    Example:
        >>> db = Database("sqlite:///.assist/assist.db")
        >>> db.migrate()
        >>> with db.session() as s:
        ...     s.execute(text("SELECT 1")).scalar_one()
        1
    """

    def __init__(self, url: str | URL, *, schema: str | None = None, echo: bool = False) -> None:
        try:
            self.url: URL = make_url(url)
        except ArgumentError as e:
            raise ConfigError(
                f"invalid database URL {url!r}: use e.g. sqlite:///path/assist.db or "
                "postgresql+psycopg://user:password@host:5432/dbname (ASSIST_DATABASE_URL)"
            ) from e
        self.schema = schema
        self.dialect = self.url.get_backend_name()
        if self.dialect == "postgresql" and self.url.get_driver_name() in ("psycopg2", "psycopg2cffi"):
            # Only psycopg 3 is a dependency; say so instead of failing with an import error.
            raise ConfigError(f"{self.safe_url}: use the psycopg 3 driver (postgresql+psycopg://...)")
        if self.dialect == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        if schema is not None:
            if self.dialect != "postgresql":
                raise ConfigError(f"schema={schema!r} is supported on PostgreSQL only, not {self.dialect}")
            if not _SCHEMA_RE.match(schema):
                raise ConfigError(f"schema {schema!r} must match {_SCHEMA_RE.pattern}")
        try:
            self.engine: Engine = self._create_engine(echo)
        except NoSuchModuleError as e:
            raise ConfigError(
                f"unsupported database URL {self.safe_url}: use sqlite:/// or postgresql+psycopg://"
            ) from e
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The session of an open unit of work (see session()); per instance and per task.
        self._active: ContextVar[Session | None] = ContextVar(f"assist_db_uow_{id(self)}", default=None)
        # Same pool; only tells SQLite's BEGIN hook that the transaction will not write.
        self._read_sessions = sessionmaker(
            self.engine.execution_options(assist_readonly=True), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database of ``settings.database_url``, default ``sqlite:///HOME/assist.db``."""
        return cls(settings.resolved_database_url)

    @property
    def safe_url(self) -> str:
        """The URL with the password masked, safe for logs and error messages."""
        return self.url.render_as_string(hide_password=True)

    def _create_engine(self, echo: bool) -> Engine:
        if self.dialect == "sqlite":
            return self._create_sqlite_engine(echo)
        connect_args: dict[str, Any] = {}
        if self.dialect == "postgresql":
            connect_args["connect_timeout"] = 10
            if self.schema:
                # Set at connection start, so it survives the pool's rollback-on-return
                # (a plain SET inside a rolled-back transaction would be undone).
                connect_args["options"] = f"-csearch_path={self.schema}"
        return create_engine(self.url, echo=echo, pool_pre_ping=True, connect_args=connect_args)

    def _create_sqlite_engine(self, echo: bool) -> Engine:
        database = self.url.database or ""
        in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            # One shared connection: every new connection to :memory: is a new, empty database.
            kwargs["poolclass"] = StaticPool
        elif not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ConfigError(
                    f"cannot create {folder} for the SQLite database ({e.strerror}): point "
                    "ASSIST_DATABASE_URL or ASSIST_HOME at a writable folder"
                ) from e
        engine = create_engine(self.url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling skips BEGIN before DDL and breaks SAVEPOINT;
            # take it over (SQLAlchemy's documented recipe) so migrations are transactional.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            if not in_memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync per checkpoint
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the write lock up front (IMMEDIATE): a deferred transaction that
            # reads and then writes fails at once with SQLITE_BUSY when another writer got in
            # between (WAL snapshot), whereas IMMEDIATE waits up to busy_timeout.
            readonly = conn.get_execution_options().get("assist_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine

    def _translate(self, e: Exception) -> Exception:
        if isinstance(e, IntegrityError):
            return ConflictError(
                f"the write conflicts with existing data (a concurrent update or a duplicate): "
                f"reload and retry ({type(e.orig).__name__ if e.orig else 'IntegrityError'})"
            )
        if isinstance(e, (OperationalError, InterfaceError)):
            return DatabaseError(
                f"cannot use the database at {self.safe_url}: {_first_line(e)}. Check that it is "
                "running and reachable and that ASSIST_DATABASE_URL is right",
                retryable=True,
            )
        if isinstance(e, DBAPIError):
            return DatabaseError(f"database error at {self.safe_url}: {_first_line(e)}", retryable=False)
        return e

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any exception.

        Args:
            readonly: The transaction only reads. On SQLite it then does not take the write
                lock, so reads never queue behind writers; on PostgreSQL it changes nothing.

        Sessions nest: a ``session()`` opened while another is open in the same task joins
        it (one transaction), which is how a caller batches many repository calls into one
        commit (a unit of work). The outer block commits or rolls back everything.

        Example:
            >>> with db.session() as s:
            ...     s.add(Tenant(id="acme", name="Acme"))
        """
        outer = self._active.get()
        if outer is not None:
            # Inside a unit of work: join it, so many repository calls commit together.
            yield outer
            return
        try:
            factory = self._read_sessions if readonly else self._sessions
            with factory() as s, s.begin():
                token = self._active.set(s)
                try:
                    yield s
                finally:
                    self._active.reset(token)
        except DBAPIError as e:
            raise self._translate(e) from e

    @contextmanager
    def connection(self, *, readonly: bool = False) -> Iterator[Any]:
        """A Core connection in one transaction (migrations, schema checks)."""
        engine = self.engine.execution_options(assist_readonly=True) if readonly else self.engine
        try:
            with engine.begin() as conn:
                yield conn
        except DBAPIError as e:
            raise self._translate(e) from e

    def ping(self) -> None:
        """Check the database answers; raises ``DatabaseError(retryable=True)`` if it does not."""
        with self.connection(readonly=True) as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (Alembic, run in process; idempotent)."""
        from alembic import command

        cfg = alembic_config(self)
        with self.connection() as conn:
            if self.schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first :meth:`migrate`)."""
        from alembic.runtime.migration import MigrationContext

        with self.connection(readonly=True) as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"


def alembic_config(db: Database | None = None) -> Any:
    """An Alembic ``Config`` for the shipped migrations, built in code (no alembic.ini).

    Example (a new migration, from the repository root):
        >>> from alembic import command
        >>> command.revision(alembic_config(Database(url)), "add x", autogenerate=True)
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if db is not None:
        # ConfigParser interpolates '%': escape it (URL-encoded passwords contain it).
        cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def _first_line(e: Exception) -> str:
    orig = getattr(e, "orig", None) or e
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
