"""Incident storage for years of cases: monthly partitions, rollups (issue #18, docs/city.md).

- ``incident`` (by ``reported_at``) and ``incident_event`` (by ``at``) become PostgreSQL
  declarative partitions by calendar month (Asia/Shanghai), converted WITH their data: a new
  partitioned table is created beside the old one, rows are moved in one ``INSERT … SELECT``,
  the names are swapped, then the primary key, foreign keys, indexes and triggers are
  recreated from the old table's catalogue entries (so columns and indexes added by earlier
  migrations come along). Partitions are named ``<table>_pYYYY_MM``; ``<table>_default``
  catches rows outside every month. ``gm_ensure_month_partitions(table, from, to)`` creates
  months ahead (called here, by ``gridmap db partitions ensure`` and by the import path) and
  moves rows out of the default partition when their month is created.
- Keys must contain the partition key: the primary keys become ``(id, reported_at)`` /
  ``(id, at)``. The unique constraints on ``incident.external_id`` and ``client_id`` become
  plain indexes plus a statement-level trigger (``gm_unique_check``) that raises
  ``unique_violation`` (23505) when a value occurs twice — race-free because every writer of
  new incidents holds ``incident``'s SHARE ROW EXCLUSIVE lock (``incidents.write``).
- Foreign keys REFERENCING ``incident(id)`` (``incident_photo.incident_id``, ON DELETE
  CASCADE) cannot point at a partitioned table without the partition key: each is replaced by
  a row trigger on the child (``gm_ref_check``: the incident must exist) and a statement
  trigger on ``incident`` applying the ON DELETE action (``gm_ref_on_delete``).
- Rollups: ``incident_rollup_day`` (day × street × community × grid × category × state, the
  day being the report's local date) maintained by statement-level triggers with transition
  tables on every INSERT/UPDATE/DELETE of ``incident`` (net deltas, one upsert per statement);
  ``incident_rollup_h3`` (day × H3 cell) written by the import path (``gridmap.incidents.
  rollups``: H3 needs the h3 library, not available in SQL).
- What was converted is recorded in ``gm_partition_note`` so the downgrade restores exactly
  the original keys and constraints.

Revision ID: 0020_city_storage
Revises: 0019_ratings
Create Date: 2026-11-30
"""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0020_city_storage"
down_revision = "0019_ratings"
branch_labels = None
depends_on = None

PARTITIONED = (("incident", "reported_at"), ("incident_event", "at"))
MONTHS_AHEAD = 3

_ENSURE = r"""
CREATE OR REPLACE FUNCTION gm_ensure_month_partitions(parent regclass, first_day date,
                                                      last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', first_day)::date;
  stop date := date_trunc('month', last_day)::date;
  nxt date; lo timestamptz; hi timestamptz;
  made integer := 0; base text; key text; part text; opts text[]; dflt text;
  moved boolean;
BEGIN
  SELECT c.relname INTO base FROM pg_class c WHERE c.oid = parent;
  SELECT a.attname INTO key FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = parent;
  IF key IS NULL THEN
    RAISE EXCEPTION 'table % is not partitioned', base USING ERRCODE = 'wrong_object_type';
  END IF;
  SELECT c.relname INTO dflt FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
  SELECT c.reloptions INTO opts FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent ORDER BY c.relname DESC LIMIT 1;
  WHILE m <= stop LOOP
    nxt := (m + interval '1 month')::date;
    lo := m::timestamp AT TIME ZONE 'Asia/Shanghai';
    hi := nxt::timestamp AT TIME ZONE 'Asia/Shanghai';
    part := format('%s_p%s', base, to_char(m, 'YYYY_MM'));
    IF to_regclass(part) IS NULL THEN
      moved := false;
      IF dflt IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)',
                       dflt, key, key) INTO moved USING lo, hi;
      END IF;
      IF moved THEN
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       part, base);
        EXECUTE format('WITH d AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) '
                       'INSERT INTO %I SELECT * FROM d', dflt, key, key, part) USING lo, hi;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       base, part, lo, hi);
      ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       part, base, lo, hi);
      END IF;
      IF opts IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %I SET (%s)', part, array_to_string(opts, ', '));
      END IF;
      made := made + 1;
    END IF;
    m := nxt;
  END LOOP;
  RETURN made;
END $$;
"""

_UNIQUE = r"""
CREATE OR REPLACE FUNCTION gm_unique_check() RETURNS trigger LANGUAGE plpgsql AS $$
-- args: the columns that must be unique. Indexed: one probe per new row; while a first bulk
-- load has the indexes dropped (incidents.write), one hash aggregate over the table.
DECLARE col text; dup text; indexed boolean;
BEGIN
  FOREACH col IN ARRAY TG_ARGV LOOP
    SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                   AND a.attnum = i.indkey[0] WHERE i.indrelid = TG_RELID AND a.attname = col)
      INTO indexed;
    IF indexed THEN
      EXECUTE format('SELECT n.%1$I::text FROM new_rows n WHERE n.%1$I IS NOT NULL AND '
                     '(SELECT count(*) FROM %2$I t WHERE t.%1$I = n.%1$I) > 1 LIMIT 1',
                     col, TG_TABLE_NAME) INTO dup;
    ELSE
      EXECUTE format('SELECT t.%1$I::text FROM %2$I t WHERE t.%1$I IN (SELECT %1$I FROM '
                     'new_rows) GROUP BY 1 HAVING count(*) > 1 LIMIT 1', col, TG_TABLE_NAME)
        INTO dup;
    END IF;
    IF dup IS NOT NULL THEN
      RAISE EXCEPTION 'duplicate key value violates unique constraint on %.%', TG_TABLE_NAME, col
        USING ERRCODE = 'unique_violation', DETAIL = format('Key (%s)=(%s) already exists.', col, dup);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
"""

_UNIQUE_ROW = r"""
CREATE OR REPLACE FUNCTION gm_unique_row() RETURNS trigger LANGUAGE plpgsql AS $$
-- row level (UPDATE OF the columns, only when one changes): the new value must be alone
DECLARE col text; n bigint;
BEGIN
  FOREACH col IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT count(*) FROM %1$I WHERE %2$I = ($1).%2$I', TG_TABLE_NAME, col)
      INTO n USING NEW;
    IF n > 1 THEN
      RAISE EXCEPTION 'duplicate key value violates unique constraint on %.%', TG_TABLE_NAME, col
        USING ERRCODE = 'unique_violation';
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
"""

_REF = r"""
CREATE OR REPLACE FUNCTION gm_ref_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v text := to_jsonb(NEW) ->> TG_ARGV[0]; found boolean;
BEGIN
  IF v IS NULL THEN RETURN NEW; END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1::bigint)', TG_ARGV[1],
                 TG_ARGV[2]) INTO found USING v;
  IF NOT found THEN
    RAISE EXCEPTION 'insert or update on table % violates the reference to %(%)',
      TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[2] USING ERRCODE = 'foreign_key_violation',
      DETAIL = format('Key (%s)=(%s) is not present in table "%s".', TG_ARGV[0], v, TG_ARGV[1]);
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION gm_ref_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
-- args: child table, child column, parent column, action (CASCADE | SET NULL | NO ACTION)
DECLARE hit boolean;
BEGIN
  IF TG_ARGV[3] = 'CASCADE' THEN
    EXECUTE format('DELETE FROM %I WHERE %I IN (SELECT %I FROM old_rows)', TG_ARGV[0],
                   TG_ARGV[1], TG_ARGV[2]);
  ELSIF TG_ARGV[3] = 'SET NULL' THEN
    EXECUTE format('UPDATE %I SET %I = NULL WHERE %I IN (SELECT %I FROM old_rows)',
                   TG_ARGV[0], TG_ARGV[1], TG_ARGV[1], TG_ARGV[2]);
  ELSE
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I IN (SELECT %I FROM old_rows))',
                   TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]) INTO hit;
    IF hit THEN
      RAISE EXCEPTION 'delete on % violates the reference from %', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'foreign_key_violation';
    END IF;
  END IF;
  RETURN NULL;
END $$;
"""

_ROLLUP_KEY = ("(reported_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
               "coalesce(street_id, 0) AS street_id, coalesce(community_id, 0) AS community_id, "
               "coalesce(grid_id, 0) AS grid_id, category_code, state")
_ROLLUP_UPSERT = (
    "INSERT INTO incident_rollup_day AS r (day, street_id, community_id, grid_id, "
    "category_code, state, n) SELECT day, street_id, community_id, grid_id, category_code, "
    "state, sum(n) FROM ({rows}) d GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0 "
    "ON CONFLICT (day, grid_id, community_id, street_id, category_code, state) "
    "DO UPDATE SET n = r.n + EXCLUDED.n")
_OLD = f"SELECT {_ROLLUP_KEY}, -1 AS n FROM old_rows"  # noqa: S608 - fixed text
_NEW = f"SELECT {_ROLLUP_KEY}, 1 AS n FROM new_rows"  # noqa: S608 - fixed text
_KEY_OF = ("SELECT (r.reported_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
           "coalesce(r.street_id, 0) AS street_id, coalesce(r.community_id, 0) AS community_id,"
           " coalesce(r.grid_id, 0) AS grid_id, r.category_code, r.state, {n} AS n "
           "FROM (SELECT ({row}).*) r")
_ROW_DELTA = (_KEY_OF.format(n=-1, row="OLD") + " UNION ALL "
              + _KEY_OF.format(n=1, row="NEW"))
_KEY_COLS = "state, category_code, grid_id, community_id, street_id, reported_at"
_ROLLUP = f"""
CREATE OR REPLACE FUNCTION gm_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_ROLLUP_UPSERT.format(rows=_NEW)}; RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION gm_rollup_update() RETURNS trigger LANGUAGE plpgsql AS $$
-- row level, only when a key column changes (a transition: one count moves to the new state);
-- BEFORE, so it also fires when a new report month moves the row to another partition
BEGIN {_ROLLUP_UPSERT.format(rows=_ROW_DELTA)}; RETURN NEW; END $$;
CREATE OR REPLACE FUNCTION gm_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_ROLLUP_UPSERT.format(rows=_OLD)}; RETURN NULL; END $$;
"""
_ROLLUP_TRIGGERS = (
    "CREATE TRIGGER incident_rollup_insert AFTER INSERT ON incident REFERENCING NEW TABLE AS "
    "new_rows FOR EACH STATEMENT EXECUTE FUNCTION gm_rollup_insert()",
    f"CREATE TRIGGER incident_rollup_update BEFORE UPDATE OF {_KEY_COLS} ON incident "
    f"FOR EACH ROW WHEN (({_KEY_COLS.replace(', ', ', OLD.').join(['OLD.', ''])}) IS DISTINCT "
    f"FROM ({_KEY_COLS.replace(', ', ', NEW.').join(['NEW.', ''])})) "
    "EXECUTE FUNCTION gm_rollup_update()",
    "CREATE TRIGGER incident_rollup_delete AFTER DELETE ON incident REFERENCING OLD TABLE AS "
    "old_rows FOR EACH STATEMENT EXECUTE FUNCTION gm_rollup_delete()",
)


def _rows(sql: str, **params: Any) -> list[Any]:
    return list(op.get_bind().execute(sa.text(sql), params).all())


def _catalogue(table: str) -> dict[str, Any]:
    """Definitions of the table's constraints, plain indexes, triggers and referencing FKs."""
    return {
        "cons": _rows("SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f') "
                      "ORDER BY contype, conname", t=table),
        "idx": _rows("SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
                     "WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS (SELECT 1 FROM "
                     "pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1", t=table),
        "trg": _rows("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = "
                     "CAST(:t AS regclass) AND NOT tgisinternal AND tgname NOT LIKE 'gm\\_%' "
                     "AND tgname NOT LIKE 'incident_rollup_%' ORDER BY tgname", t=table),
        "refs": _rows("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                      "FROM pg_constraint WHERE confrelid = CAST(:t AS regclass) "
                      "AND contype = 'f' ORDER BY 1, 2", t=table),
        "opts": _rows("SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class "
                      "WHERE oid = CAST(:t AS regclass)", t=table)[0][0],
    }


def _swap(table: str, partition_by: str | None) -> None:
    """Replace ``table`` by a copy (partitioned by month on ``partition_by``, or plain) with
    the same rows; the caller recreates keys, indexes and triggers."""
    tail = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    op.execute(f"CREATE TABLE {table}__new (LIKE {table} INCLUDING DEFAULTS INCLUDING "
               f"CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS){tail}")
    op.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
    op.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
    if partition_by:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        bind = op.get_bind()
        local = f"({partition_by} AT TIME ZONE 'Asia/Shanghai')::date"
        sql = f"SELECT min({local}), max({local}) FROM {table}__old"  # noqa: S608 - fixed
        lo, hi = bind.execute(sa.text(sql)).one()
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        last = max(hi or today, today)
        m = last.month - 1 + MONTHS_AHEAD
        bind.execute(sa.text("SELECT gm_ensure_month_partitions(CAST(:t AS regclass), :a, :b)"),
                     {"t": table, "a": min(lo or today, today),
                      "b": dt.date(last.year + m // 12, m % 12 + 1, 1)})
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}__old")  # noqa: S608 - fixed names
    op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq OWNED BY NONE")
    op.execute(f"DROP TABLE {table}__old")
    op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq OWNED BY {table}.id")


def _note(table: str, kind: str, name: str, definition: str) -> None:
    op.get_bind().execute(sa.text(
        "INSERT INTO gm_partition_note (table_name, kind, name, definition) "
        "VALUES (:t, :k, :n, :d)"), {"t": table, "k": kind, "n": name, "d": definition})


def _to_partitioned(table: str, key: str) -> None:
    cat = _catalogue(table)
    for child, name, _ in cat["refs"]:
        op.execute(f'ALTER TABLE {child} DROP CONSTRAINT "{name}"')
    _swap(table, key)
    if cat["opts"]:
        for (part,) in _rows("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                             "c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)",
                             t=table):
            op.execute(f"ALTER TABLE {part} SET ({cat['opts']})")
    _note(table, "opts", "", cat["opts"])
    unique_cols = []
    for name, kind, definition in cat["cons"]:
        _note(table, kind, name, definition)
        if kind == "p":
            op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" PRIMARY KEY (id, {key})')
        elif kind == "u":
            col = definition[definition.index("(") + 1:definition.rindex(")")]
            unique_cols.append(col)
            op.execute(f'CREATE INDEX "{name}" ON {table} ({col})')
        else:
            op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for (definition,) in cat["idx"] + cat["trg"]:
        op.execute(definition)
    if unique_cols:
        args = ", ".join(f"'{c}'" for c in unique_cols)
        op.execute(f"CREATE TRIGGER gm_unique_insert AFTER INSERT ON {table} REFERENCING NEW "
                   f"TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gm_unique_check({args})")
        cols = ", ".join(unique_cols)
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in unique_cols)
        op.execute(f"CREATE TRIGGER gm_unique_update AFTER UPDATE OF {cols} ON {table} "
                   f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION gm_unique_row({args})")
    for child, name, definition in cat["refs"]:
        _note(table, "ref", f"{child}.{name}", definition)
        _reference_triggers(table, child, definition)


def _reference_triggers(table: str, child: str, definition: str) -> None:
    """Row check on the child and the ON DELETE action on ``table`` for one former FK."""
    col = definition[definition.index("(") + 1:definition.index(")")]
    action = ("CASCADE" if "ON DELETE CASCADE" in definition else
              "SET NULL" if "ON DELETE SET NULL" in definition else "NO ACTION")
    op.execute(f"CREATE TRIGGER gm_ref_{col} BEFORE INSERT OR UPDATE OF {col} ON {child} "
               f"FOR EACH ROW EXECUTE FUNCTION gm_ref_check('{col}', '{table}', 'id')")
    op.execute(f"CREATE TRIGGER gm_ref_{child} AFTER DELETE ON {table} REFERENCING OLD TABLE "
               f"AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "
               f"gm_ref_on_delete('{child}', '{col}', 'id', '{action}')")


def _create_rollups() -> None:
    op.execute("""
        CREATE TABLE incident_rollup_day (
            day date NOT NULL, street_id integer NOT NULL, community_id integer NOT NULL,
            grid_id integer NOT NULL, category_code varchar(16) NOT NULL,
            state varchar(16) NOT NULL, n bigint NOT NULL,
            PRIMARY KEY (day, grid_id, community_id, street_id, category_code, state))""")
    op.execute("CREATE INDEX ix_incident_rollup_day_community ON incident_rollup_day "
               "(community_id, day)")
    op.execute("CREATE INDEX ix_incident_rollup_day_street ON incident_rollup_day "
               "(street_id, day)")
    op.execute("""
        CREATE TABLE incident_rollup_h3 (
            day date NOT NULL, res smallint NOT NULL, cell bigint NOT NULL,
            community_id integer NOT NULL, n bigint NOT NULL,
            PRIMARY KEY (day, res, cell, community_id))""")
    op.execute(_ROLLUP)
    for stmt in _ROLLUP_TRIGGERS:
        op.execute(stmt)
    from gridmap.incidents import rollups  # H3 cells need the h3 library (not in SQL)
    rollups.rebuild(op.get_bind())


def upgrade() -> None:
    op.execute("CREATE TABLE gm_partition_note (table_name text NOT NULL, kind text NOT NULL, "
               "name text NOT NULL, definition text NOT NULL)")
    for sql in (_ENSURE, _UNIQUE, _UNIQUE_ROW, _REF):
        op.execute(sql)
    for table, key in PARTITIONED:
        _to_partitioned(table, key)
    op.execute("CREATE INDEX ix_incident_event_at_brin ON incident_event USING brin (at)")
    _create_rollups()


def _to_plain(table: str) -> None:
    notes = _rows("SELECT kind, name, definition FROM gm_partition_note WHERE table_name = :t",
                  t=table)
    idx = [d.replace(" ON ONLY ", " ON ", 1) for (d,) in _catalogue(table)["idx"]
           if "_brin " not in d and all(f'"{n}"' not in d and f" {n} " not in d
                                        for k, n, _ in notes if k == "u")]
    trg = _catalogue(table)["trg"]
    _swap(table, None)
    for kind, name, definition in notes:
        if kind == "opts" and definition:
            op.execute(f"ALTER TABLE {table} SET ({definition})")
        elif kind in ("p", "u", "f"):
            op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for d in idx + [t for (t,) in trg]:
        op.execute(d)
    for kind, name, definition in notes:
        if kind == "ref":
            child, conname = name.split(".", 1)
            col = definition[definition.index("(") + 1:definition.index(")")]
            op.execute(f"DROP TRIGGER IF EXISTS gm_ref_{col} ON {child}")
            op.execute(f'ALTER TABLE {child} ADD CONSTRAINT "{conname}" {definition}')


def downgrade() -> None:
    op.execute("DROP TABLE incident_rollup_h3")
    op.execute("DROP TABLE incident_rollup_day")
    for stmt in _ROLLUP_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {stmt.split()[2]} ON incident")
    for table, _ in reversed(PARTITIONED):
        _to_plain(table)
    op.execute("DROP FUNCTION gm_rollup_insert(), gm_rollup_update(), gm_rollup_delete(), "
               "gm_unique_check(), gm_unique_row(), gm_ref_check(), gm_ref_on_delete(), "
               "gm_ensure_month_partitions(regclass, date, date)")
    op.execute("DROP TABLE gm_partition_note")
