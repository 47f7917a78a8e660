"""SQL repositories for MySQL and SQLite.

Each repository is bound to one ``DatabaseContext``, the unit of work that builds it when
entered (``bind_repositories``) and whose connection and transaction it uses. The statements
are written once, with the named ``%(name)s`` parameters of mysql-connector;
``DatabaseContext`` hands them to SQLite as ``:name``. Where the dialects differ (full-text
search, the day of a timestamp, the counters' upsert) a subclass per dialect says how.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pixyproxy_cli.core.names import username_key
from pixyproxy_cli.data.db.context import DatabaseContext, Repositories
from pixyproxy_cli.data.db.interfaces import (
    ImageQuery,
    ImageRepositoryInterface,
    InvalidationRepositoryInterface,
    LimitRepositoryInterface,
    LimitSlot,
    TokenRecord,
    TokenRepositoryInterface,
    UsageRow,
    UserRepositoryInterface,
)
from pixyproxy_cli.data.db.jobs import SqlJobRepository
from pixyproxy_cli.data.db.public_json import PUBLIC_JSON_COLUMNS, RowPage
from pixyproxy_cli.data.db.rows import (
    TOKEN_KIND_COLUMNS,
    db_timestamp,
    from_db_timestamp,
    image_to_row,
    provenance_report,
    row_problem,
    row_to_image,
    row_to_image_file,
    row_to_user,
    signals_json,
)

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import Image, ImageDetail, ImageFile, UserRecord
    from pixyproxy_cli.core.provenance import ProvenanceReport

_KINDS = ", ".join(TOKEN_KIND_COLUMNS)
# Column names from constant tuples, not input.
SELECT_IMAGES = (
    "SELECT id, guid, filename, prompt, owner, is_private, provider, model, media_type, "  # noqa: S608
    f"created_at, updated_at, input_tokens, output_tokens, {_KINDS}, width, height, parents "
    "FROM images"
)
_INSERTED = (
    "guid",
    "filename",
    "prompt",
    "owner",
    "is_private",
    "provider",
    "model",
    "media_type",
    "created_at",
    "updated_at",
    "input_tokens",
    "output_tokens",
    *TOKEN_KIND_COLUMNS,
    "width",
    "height",
    "parents",
)
# Column names from a constant tuple, not input.
INSERT_IMAGE = (
    f"INSERT INTO images ({', '.join(_INSERTED)}) "  # noqa: S608
    f"VALUES ({', '.join(f'%({name})s' for name in _INSERTED)})"
)
SELECT_USERS = "SELECT id, username, password_hash, class_key, created_at, updated_at FROM roster"
# Column names from a constant tuple, not input.
_SUMMED = ("input_tokens", "output_tokens", *TOKEN_KIND_COLUMNS)
"""The token columns ``usage`` sums, in UsageRow's order."""
PUBLIC_JSON_SELECT = f"SELECT {', '.join(PUBLIC_JSON_COLUMNS)} FROM images"  # noqa: S608


def _text(value: object) -> str:
    """A grouped value as text (drivers may give bytes for computed columns)."""
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


class _SqlRepository:
    """A repository on the connection of the unit of work that built it."""

    def __init__(self, db: DatabaseContext) -> None:
        self._db = db


class SqlImageRepository(_SqlRepository, ImageRepositoryInterface):
    """Images in the ``images`` table; see ImageRepositoryInterface."""

    MATCHES: ClassVar[str]
    """This dialect's condition that the full-text index finds every prefix of %(index)s."""
    CONTAINS: ClassVar[str]
    """This dialect's condition that the prompt contains a literal (lower case), {name}."""

    @staticmethod
    def index_query(prefixes: Sequence[str]) -> str:
        """The full-text query that requires a word beginning with each of ``prefixes``."""
        raise NotImplementedError

    def _listing_query(self, query: ImageQuery) -> tuple[str, dict[str, object]]:
        """The statement and parameters of one listing page."""
        conditions, params = self._filter_conditions(query)
        if not query.everything:
            conditions.insert(0, "(is_private = 0 OR owner = %(viewer)s)")
        params.update(after_id=query.after_id, limit=query.limit)
        if not query.filters.newest_first:
            conditions.append("id > %(after_id)s")
        elif query.after_id:
            conditions.append("id < %(after_id)s")
        order = "DESC" if query.filters.newest_first else "ASC"
        # Every condition is one of the constant fragments above; values are parameters.
        sql = (
            PUBLIC_JSON_SELECT
            + " WHERE "
            + " AND ".join(conditions)
            + f" ORDER BY id {order} LIMIT %(limit)s"
        )
        return sql, params

    def count_hidden(self, query: ImageQuery) -> int:
        """See ImageRepositoryInterface.count_hidden."""
        conditions, params = self._filter_conditions(query)
        conditions.append("is_private = 1 AND (%(viewer)s IS NULL OR owner <> %(viewer)s)")
        db = self._db
        # Every condition is one of the constant fragments of _filter_conditions.
        db.execute(
            "SELECT COUNT(*) AS hidden FROM images WHERE " + " AND ".join(conditions),  # noqa: S608
            params,
        )
        row = db.fetchone()
        return 0 if row is None else int(row["hidden"])

    def _filter_conditions(self, query: ImageQuery) -> tuple[list[str], dict[str, object]]:
        """The conditions of ``query``'s owner, privacy and filters, and their parameters."""
        filters = query.filters
        conditions: list[str] = []
        params: dict[str, object] = {"viewer": query.viewer}
        if query.owner is not None:
            conditions.append("owner = %(owner)s")
            params["owner"] = query.owner
        if query.private is not None:
            conditions.append("is_private = %(private)s")
            params["private"] = 1 if query.private else 0
        if filters.since is not None:
            conditions.append("created_at >= %(since)s")
            params["since"] = db_timestamp(filters.since)
        if filters.until is not None:
            conditions.append("created_at <= %(until)s")
            params["until"] = db_timestamp(filters.until)
        if filters.model is not None:
            conditions.append("model = %(model)s")
            params["model"] = filters.model
        if filters.search is not None:
            if filters.search.prefixes:
                conditions.append(self.MATCHES)
                params["index"] = self.index_query(filters.search.prefixes)
            for number, literal in enumerate(filters.search.literals):
                name = f"literal{number}"
                conditions.append(self.CONTAINS.format(name=f"%({name})s"))
                params[name] = literal
        return conditions, params

    def get_image_by_guid(self, guid: str) -> Image | None:
        """The image with this GUID, or None."""
        db = self._db
        db.execute(SELECT_IMAGES + " WHERE guid = %(guid)s", {"guid": guid})
        row = db.fetchone()
        return None if row is None else row_to_image(row)

    def get_visible_image(self, guid: str, viewer: str | None) -> Image | None:
        """See ImageRepositoryInterface.get_visible_image."""
        db = self._db
        # owner = NULL is never true: an anonymous viewer sees public images only.
        db.execute(
            SELECT_IMAGES + " WHERE guid = %(guid)s AND (is_private = 0 OR owner = %(viewer)s)",
            {"guid": guid, "viewer": viewer},
        )
        row = db.fetchone()
        return None if row is None else row_to_image(row)

    def get_all_images(self, query: ImageQuery) -> RowPage:
        """The page of images ``query`` describes, as the driver's raw rows."""
        rows = self._db.fetch_raw(*self._listing_query(query))
        return RowPage(rows, int(rows[-1][0]) if rows else query.after_id)

    def create_image(
        self, image: ImageDetail, *, now: datetime, updated_at: datetime | None = None
    ) -> int:
        """Insert ``image``; return its new id."""
        db = self._db
        row = image_to_row(image, now)
        if updated_at is not None:
            row["updated_at"] = db_timestamp(updated_at)
        db.execute(
            INSERT_IMAGE,
            row,
        )
        return db.lastrowid

    def delete_image(self, guid: str) -> bool:
        """Delete the row of the image with this GUID."""
        db = self._db
        db.execute("DELETE FROM images WHERE guid = %(guid)s", {"guid": guid})
        return db.rowcount > 0

    def get_owned_image_files(self, owner: str, *, limit: int) -> list[ImageFile]:
        """The files of up to ``limit`` of ``owner``'s images, oldest first."""
        db = self._db
        db.execute(
            "SELECT guid, filename, media_type, is_private, owner, updated_at FROM images "
            "WHERE owner = %(owner)s ORDER BY id LIMIT %(limit)s",
            {"owner": owner, "limit": limit},
        )
        return [row_to_image_file(row) for row in db.fetchall()]

    def get_image_file(self, guid: str) -> ImageFile | None:
        """The file name, media type and visibility of the image with this GUID, or None."""
        db = self._db
        db.execute(
            "SELECT guid, filename, media_type, is_private, owner, updated_at "
            "FROM images WHERE guid = %(guid)s",
            {"guid": guid},
        )
        row = db.fetchone()
        return None if row is None else row_to_image_file(row)

    def count_images(self) -> int:
        """How many images are stored."""
        db = self._db
        db.execute("SELECT COUNT(*) AS n FROM images")
        row = db.fetchone()
        return int(row["n"]) if row else 0

    def get_image_files_page(self, *, after_id: int = 0, limit: int) -> list[tuple[int, ImageFile]]:
        """One page of (id, file details) of every image, by id."""
        db = self._db
        db.execute(
            "SELECT id, guid, filename, media_type, is_private, owner, updated_at FROM images "
            "WHERE id > %(after_id)s ORDER BY id LIMIT %(limit)s",
            {"after_id": after_id, "limit": limit},
        )
        return [(int(row["id"]), row_to_image_file(row)) for row in db.fetchall()]

    def find_unreadable_images(
        self, *, after_id: int = 0, limit: int
    ) -> tuple[list[tuple[str, str]], int | None]:
        """See ImageRepositoryInterface.find_unreadable_images."""
        db = self._db
        db.execute(
            f"{SELECT_IMAGES} WHERE id > %(after_id)s ORDER BY id LIMIT %(limit)s",
            {"after_id": after_id, "limit": limit},
        )
        rows = db.fetchall()
        found = [(str(row["guid"]), problem) for row in rows if (problem := row_problem(row))]
        return found, (int(rows[-1]["id"]) if len(rows) == limit else None)

    DAY: ClassVar[str]
    """This dialect's SQL for an image's UTC day, ``YYYY-MM-DD``."""

    def usage(self, *, by: str, since: datetime | None, owner: str | None) -> list[UsageRow]:
        """See ImageRepositoryInterface.usage."""
        group = {"day": self.DAY, "model": "model", "user": "COALESCE(owner, '')"}[by]
        conditions = ["created_at >= %(since)s"]
        params: dict[str, object] = {"since": db_timestamp(since) if since else "0000"}
        if owner is not None:
            conditions.append("owner = %(owner)s")
            params["owner"] = owner
        db = self._db
        # The group expression is one of the constants above; values are parameters.
        db.execute(
            f"SELECT {group} AS k, model, provider, COUNT(*) AS images, "  # noqa: S608
            + ", ".join(f"COALESCE(SUM({column}), 0) AS {column}" for column in _SUMMED)
            + " FROM images WHERE "
            + " AND ".join(conditions)
            + f" GROUP BY {group}, model, provider ORDER BY k, model, provider",
            params,
        )
        return [
            UsageRow(
                key=_text(row["k"]),
                model=_text(row["model"]),
                images=int(row["images"]),
                provider=_text(row["provider"]),
                **{column: int(row[column]) for column in _SUMMED},
            )
            for row in db.fetchall()
        ]

    def get_image_files(self, guids: Sequence[str]) -> list[ImageFile]:
        """The file details of those of ``guids`` that are stored."""
        if not guids:
            return []
        names = {f"g{index}": guid for index, guid in enumerate(guids)}
        placeholders = ", ".join(f"%({key})s" for key in names)
        db = self._db
        # Only generated placeholders are formatted in; the GUIDs themselves are parameters.
        db.execute(
            "SELECT guid, filename, media_type, is_private, owner, updated_at FROM images "  # noqa: S608
            f"WHERE guid IN ({placeholders})",
            names,
        )
        return [row_to_image_file(row) for row in db.fetchall()]

    def find_filenames(self, filenames: Sequence[str]) -> set[str]:
        """Which of ``filenames`` belong to a stored image."""
        if not filenames:
            return set()
        names = {f"f{index}": name for index, name in enumerate(filenames)}
        placeholders = ", ".join(f"%({key})s" for key in names)
        db = self._db
        # Only generated placeholders are formatted in; the names themselves are parameters.
        db.execute(f"SELECT filename FROM images WHERE filename IN ({placeholders})", names)  # noqa: S608
        return {row["filename"] for row in db.fetchall()}

    def add_provenance_check(self, guid: str, report: ProvenanceReport) -> bool:
        """See ImageRepositoryInterface.add_provenance_check."""
        db = self._db
        db.execute(
            "INSERT INTO provenance_checks (image_id, checked_at, verdict, signals) "
            "SELECT id, %(checked_at)s, %(verdict)s, %(signals)s FROM images "
            "WHERE guid = %(guid)s",
            {
                "guid": guid,
                "checked_at": db_timestamp(report.checked_at),
                "verdict": report.verdict,
                "signals": signals_json(report.signals),
            },
        )
        return db.rowcount > 0

    def latest_provenance_check(self, guid: str) -> ProvenanceReport | None:
        """See ImageRepositoryInterface.latest_provenance_check."""
        db = self._db
        db.execute(
            "SELECT p.checked_at, p.signals FROM provenance_checks p "
            "JOIN images i ON i.id = p.image_id WHERE i.guid = %(guid)s "
            "ORDER BY p.id DESC LIMIT 1",
            {"guid": guid},
        )
        row = db.fetchone()
        if row is None:
            return None
        return provenance_report(row["checked_at"], row["signals"])


class SqlUserRepository(_SqlRepository, UserRepositoryInterface):
    """Users in the ``roster`` table; see UserRepositoryInterface."""

    def authenticate_user(self, username: str) -> UserRecord | None:
        """The roster record for ``username``, hash included, or None."""
        db = self._db
        db.execute(
            SELECT_USERS + " WHERE username = %(username)s",
            {"username": username},
        )
        row = db.fetchone()
        return None if row is None else row_to_user(row)

    def create_user(
        self, username: str, password_hash: str, class_key: str, *, now: datetime
    ) -> int:
        """Add a user; return the new id."""
        db = self._db
        stamp = db_timestamp(now)
        db.execute(
            "INSERT INTO roster "
            "(username, name_key, password_hash, class_key, created_at, updated_at) VALUES "
            "(%(username)s, %(name_key)s, %(password_hash)s, %(class_key)s, %(now)s, %(now)s)",
            {
                "username": username,
                "name_key": username_key(username),
                "password_hash": password_hash,
                "class_key": class_key,
                "now": stamp,
            },
        )
        return db.lastrowid

    def find_username(self, username: str) -> str | None:
        """See UserRepositoryInterface.find_username."""
        db = self._db
        db.execute(
            "SELECT username FROM roster WHERE LOWER(username) = %(key)s ORDER BY id LIMIT 1",
            {"key": username_key(username)},
        )
        row = db.fetchone()
        return None if row is None else str(row["username"])

    def find_case_clashes(self) -> list[list[str]]:
        """See UserRepositoryInterface.find_case_clashes."""
        db = self._db
        db.execute(
            "SELECT username, LOWER(username) AS folded FROM roster WHERE LOWER(username) IN "
            "(SELECT LOWER(username) FROM roster WHERE name_key IS NULL) ORDER BY folded, id"
        )
        groups: dict[str, list[str]] = {}
        for row in db.fetchall():
            groups.setdefault(str(row["folded"]), []).append(str(row["username"]))
        return [names for names in groups.values() if len(names) > 1]

    def get_all_users(self, *, after_id: int = 0, limit: int) -> list[UserRecord]:
        """One page of users after ``after_id``, by id."""
        db = self._db
        db.execute(
            SELECT_USERS + " WHERE id > %(after_id)s ORDER BY id LIMIT %(limit)s",
            {"after_id": after_id, "limit": limit},
        )
        return [row_to_user(row) for row in db.fetchall()]

    def update_password_hash(self, username: str, password_hash: str, *, now: datetime) -> bool:
        """Replace the password hash of ``username``."""
        db = self._db
        db.execute(
            "UPDATE roster SET password_hash = %(password_hash)s, updated_at = %(now)s "
            "WHERE username = %(username)s",
            {"username": username, "password_hash": password_hash, "now": db_timestamp(now)},
        )
        return db.rowcount > 0

    def delete_user(self, username: str) -> bool:
        """Remove ``username`` from the roster."""
        db = self._db
        db.execute("DELETE FROM roster WHERE username = %(username)s", {"username": username})
        return db.rowcount > 0


class SqlLimitRepository(_SqlRepository, LimitRepositoryInterface):
    """Rate-limit counters: one row per bucket and slot, filled by guarded updates.

    The guard (``hits + weight <= capacity`` in the UPDATE's WHERE) takes the row's write
    lock (InnoDB) or the database's (SQLite), so two takers on one node never overfill a
    slot; on a Galera cluster two nodes' takes of one slot conflict at certification, and
    the loser's unit of work runs again.
    """

    TAKE_NEW: ClassVar[str]
    TAKE: ClassVar[str]

    def slots(self, bucket: str) -> list[LimitSlot]:
        """See LimitRepositoryInterface.slots."""
        db = self._db
        db.execute(
            "SELECT slot, hits, window_start FROM rate_limits WHERE bucket = %(bucket)s",
            {"bucket": bucket},
        )
        return [
            LimitSlot(int(row["slot"]), int(row["hits"]), float(row["window_start"]))
            for row in db.fetchall()
        ]

    def take(
        self, bucket: str, slot: int, *, weight: int, capacity: int, now: float, window: float
    ) -> bool:
        """See LimitRepositoryInterface.take."""
        if weight > capacity:
            return False
        db = self._db
        params = {
            "bucket": bucket,
            "slot": slot,
            "weight": weight,
            "capacity": capacity,
            "now": now,
            "expired": now - window,
        }
        db.execute(self.TAKE_NEW, params)  # a slot not used yet: made with this event
        if db.rowcount == 1:
            return True
        db.execute(self.TAKE, params)
        return db.rowcount == 1

    def give_back(self, bucket: str, weight: int) -> None:
        """See LimitRepositoryInterface.give_back."""
        remaining = weight
        for found in sorted(self.slots(bucket), key=lambda s: -s.hits):
            if remaining <= 0:
                return
            taken = min(found.hits, remaining)
            if taken <= 0:
                continue
            self._db.execute(
                "UPDATE rate_limits SET hits = hits - %(taken)s "
                "WHERE bucket = %(bucket)s AND slot = %(slot)s AND hits >= %(taken)s",
                {"bucket": bucket, "slot": found.slot, "taken": taken},
            )
            remaining -= taken

    def clear(self, bucket: str) -> None:
        """See LimitRepositoryInterface.clear."""
        self._db.execute("DELETE FROM rate_limits WHERE bucket = %(bucket)s", {"bucket": bucket})

    def purge(self, *, prefix: str, before: float) -> int:
        """See LimitRepositoryInterface.purge."""
        db = self._db
        db.execute(
            "DELETE FROM rate_limits WHERE bucket LIKE %(pattern)s AND window_start < %(before)s",
            {"pattern": prefix.replace("%", "").replace("_", "") + "%", "before": before},
        )
        return db.rowcount


class MySQLLimitRepository(SqlLimitRepository):
    """Rate-limit counters in MySQL / MariaDB."""

    TAKE_NEW = (
        "INSERT IGNORE INTO rate_limits (bucket, slot, window_start, hits) "
        "VALUES (%(bucket)s, %(slot)s, %(now)s, %(weight)s)"
    )
    # MySQL assigns left to right: `hits` is computed from the old window_start first.
    TAKE = (
        "UPDATE rate_limits SET "
        "hits = IF(window_start <= %(expired)s, %(weight)s, hits + %(weight)s), "
        "window_start = IF(window_start <= %(expired)s, %(now)s, window_start) "
        "WHERE bucket = %(bucket)s AND slot = %(slot)s "
        "AND (window_start <= %(expired)s OR hits + %(weight)s <= %(capacity)s)"
    )


class SQLiteLimitRepository(SqlLimitRepository):
    """Rate-limit counters in SQLite."""

    TAKE_NEW = (
        "INSERT OR IGNORE INTO rate_limits (bucket, slot, window_start, hits) "
        "VALUES (%(bucket)s, %(slot)s, %(now)s, %(weight)s)"
    )
    TAKE = (
        "UPDATE rate_limits SET "
        "hits = CASE WHEN window_start <= %(expired)s THEN %(weight)s "
        "ELSE hits + %(weight)s END, "
        "window_start = CASE WHEN window_start <= %(expired)s THEN %(now)s ELSE window_start END "
        "WHERE bucket = %(bucket)s AND slot = %(slot)s "
        "AND (window_start <= %(expired)s OR hits + %(weight)s <= %(capacity)s)"
    )


class MySQLImageRepository(SqlImageRepository):
    """Images in MySQL / MariaDB."""

    def shortest_indexed_word(self) -> int | None:
        """InnoDB's ``innodb_ft_min_token_size``."""
        db = self._db
        db.execute("SELECT @@innodb_ft_min_token_size AS size")
        row = db.fetchone()
        return int(row["size"]) if row else None

    DAY = "LEFT(CAST(created_at AS CHAR), 10)"
    MATCHES = "MATCH (prompt) AGAINST (%(index)s IN BOOLEAN MODE)"
    # Binary comparison after LOWER: the column's unicode_ci collation weighs every emoji
    # (every character beyond U+FFFF) the same, so LIKE '%🦄%' would find any emoji.
    CONTAINS = "LOCATE({name} COLLATE utf8mb4_bin, LOWER(prompt)) > 0"

    @staticmethod
    def index_query(prefixes: Sequence[str]) -> str:
        """InnoDB boolean mode: ``+word*`` for each (words are letters, digits and _)."""
        return " ".join(f"+{prefix}*" for prefix in prefixes)


class SQLiteImageRepository(SqlImageRepository):
    """Images in SQLite."""

    def shortest_indexed_word(self) -> int | None:
        """FTS5 indexes words of every length."""
        return None

    DAY = "substr(created_at, 1, 10)"
    MATCHES = "id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH %(index)s)"
    # pixy_lower is Python's str.lower (data/db/sqlite.py): SQLite's own folds ASCII only.
    CONTAINS = "instr(pixy_lower(prompt), {name}) > 0"

    @staticmethod
    def index_query(prefixes: Sequence[str]) -> str:
        """FTS5: a quoted prefix query for each, all required."""
        return " AND ".join(f'"{prefix}" *' for prefix in prefixes)


SELECT_TOKENS = (
    "SELECT token_id, username, token_hash, label, created_at, expires_at, last_used_at "
    "FROM api_tokens"
)


def _row_to_token(row: dict[str, Any]) -> TokenRecord:
    last_used = row["last_used_at"]
    return TokenRecord(
        token_id=row["token_id"],
        username=row["username"],
        token_hash=row["token_hash"],
        label=row["label"],
        created_at=from_db_timestamp(row["created_at"]),
        expires_at=from_db_timestamp(row["expires_at"]),
        last_used_at=None if last_used is None else from_db_timestamp(last_used),
    )


class SqlTokenRepository(_SqlRepository, TokenRepositoryInterface):
    """API tokens in the ``api_tokens`` table; see TokenRepositoryInterface."""

    def create_token(self, token: TokenRecord) -> None:
        """Store ``token``."""
        self._db.execute(
            "INSERT INTO api_tokens (token_id, username, token_hash, label, created_at, "
            "expires_at) VALUES (%(token_id)s, %(username)s, %(token_hash)s, %(label)s, "
            "%(created_at)s, %(expires_at)s)",
            {
                "token_id": token.token_id,
                "username": token.username,
                "token_hash": token.token_hash,
                "label": token.label,
                "created_at": db_timestamp(token.created_at),
                "expires_at": db_timestamp(token.expires_at),
            },
        )

    def get_token(self, token_id: str) -> TokenRecord | None:
        """The token with this id, or None."""
        db = self._db
        db.execute(SELECT_TOKENS + " WHERE token_id = %(token_id)s", {"token_id": token_id})
        row = db.fetchone()
        return None if row is None else _row_to_token(row)

    def get_tokens(self, username: str) -> list[TokenRecord]:
        """``username``'s tokens, oldest first."""
        db = self._db
        db.execute(
            SELECT_TOKENS + " WHERE username = %(username)s ORDER BY id", {"username": username}
        )
        return [_row_to_token(row) for row in db.fetchall()]

    def delete_token(self, token_id: str) -> bool:
        """Delete the token with this id."""
        db = self._db
        db.execute("DELETE FROM api_tokens WHERE token_id = %(token_id)s", {"token_id": token_id})
        return db.rowcount > 0

    def touch_token(self, token_id: str, *, now: datetime) -> None:
        """Record a use of the token."""
        self._db.execute(
            "UPDATE api_tokens SET last_used_at = %(now)s WHERE token_id = %(token_id)s",
            {"now": db_timestamp(now), "token_id": token_id},
        )


MySQLUserRepository = SqlUserRepository
"""The specification's name for the roster on MySQL; the same statements serve SQLite."""


class SqlInvalidationRepository(_SqlRepository, InvalidationRepositoryInterface):
    """What every process must forget, one inserted row each (never updated)."""

    def record(self, kind: str, subject: str, *, now: float) -> None:
        """See InvalidationRepositoryInterface.record."""
        self._db.execute(
            "INSERT INTO invalidations (kind, subject, at) VALUES (%(kind)s, %(subject)s, %(at)s)",
            {"kind": kind, "subject": subject, "at": now},
        )

    def since(self, moment: float) -> list[tuple[int, str, str]]:
        """See InvalidationRepositoryInterface.since."""
        db = self._db
        db.execute(
            "SELECT id, kind, subject FROM invalidations WHERE at >= %(moment)s ORDER BY id",
            {"moment": moment},
        )
        return [(int(row["id"]), str(row["kind"]), str(row["subject"])) for row in db.fetchall()]

    def purge(self, *, before: float) -> int:
        """See InvalidationRepositoryInterface.purge."""
        db = self._db
        db.execute("DELETE FROM invalidations WHERE at < %(before)s", {"before": before})
        return db.rowcount


def bind_repositories(db: DatabaseContext) -> Repositories:
    """The repositories of one unit of work, for its database's dialect."""
    users, tokens = SqlUserRepository(db), SqlTokenRepository(db)
    invalidations = SqlInvalidationRepository(db)
    if db.database.dialect == "mysql":
        images: SqlImageRepository = MySQLImageRepository(db)
        limits: SqlLimitRepository = MySQLLimitRepository(db)
    else:
        images, limits = SQLiteImageRepository(db), SQLiteLimitRepository(db)
    return Repositories(images, users, tokens, limits, invalidations, SqlJobRepository(db))
