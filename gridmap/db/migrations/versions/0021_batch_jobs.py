"""Batch job table for Dask work (issue #18).

``batch_job`` (one row per ``gridmap batch …`` run) and ``batch_partition`` (one row per
partition: a street, a district, a chunk of an input file). A partition's result rows and its
``done`` state are written in ONE transaction by the worker, so a killed worker leaves nothing
behind and ``gridmap batch resume JOB`` reruns exactly the partitions that are not done.
Result tables of the file jobs (``batch_locate_result``, ``batch_geocode_result``) are keyed
by (job, row): a rerun can never duplicate a row. No foreign key to ``incident`` (slot 0020
may partition it by month).

Revision ID: 0021_batch_jobs
Revises: 0020_city_storage
Create Date: 2026-11-30
"""

from alembic import op

revision = "0021_batch_jobs"
down_revision = "0020_city_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _jobs()
    _results()


def _jobs() -> None:
    """The jobs and their partitions."""
    op.execute("""
        CREATE TABLE batch_job (
            id bigserial PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('locate', 'geocode', 'coverage', 'partition',
                                               'ehsa')),
            params jsonb NOT NULL DEFAULT '{}'::jsonb,
            state text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'failed')),
            scheduler text,
            created_by text,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz,
            error_code text
        )""")
    op.execute("""
        CREATE TABLE batch_partition (
            job_id bigint NOT NULL REFERENCES batch_job(id) ON DELETE CASCADE,
            part_key text NOT NULL,
            seq int NOT NULL,
            params jsonb NOT NULL DEFAULT '{}'::jsonb,
            state text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'failed')),
            worker text,
            attempts int NOT NULL DEFAULT 0,
            started_at timestamptz,
            finished_at timestamptz,
            rows_written bigint,
            error_code text,
            error_params jsonb,
            PRIMARY KEY (job_id, part_key)
        )""")
    op.execute("CREATE INDEX batch_partition_open ON batch_partition (job_id) "
               "WHERE state <> 'done'")


def _results() -> None:
    """Result tables of the file and EHSA jobs, keyed so a rerun never duplicates a row."""
    op.execute("""
        CREATE TABLE batch_locate_result (
            job_id bigint NOT NULL REFERENCES batch_job(id) ON DELETE CASCADE,
            row_no bigint NOT NULL,
            part_key text NOT NULL,
            lon float8, lat float8, reported_at timestamptz,
            street_id int, community_id int, estate_id int, building_id int,
            grid_id int, grid_version_id int,
            located_by text, grid_distance_m float8, near_boundary boolean,
            boundary_distance_m float8,
            PRIMARY KEY (job_id, row_no)
        )""")
    op.execute("""
        CREATE TABLE batch_geocode_result (
            job_id bigint NOT NULL REFERENCES batch_job(id) ON DELETE CASCADE,
            row_no bigint NOT NULL,
            part_key text NOT NULL,
            address text,
            result jsonb NOT NULL,
            PRIMARY KEY (job_id, row_no)
        )""")
    op.execute("""
        CREATE TABLE batch_ehsa_result (
            job_id bigint NOT NULL REFERENCES batch_job(id) ON DELETE CASCADE,
            grid_id int NOT NULL,
            part_key text NOT NULL,
            class text NOT NULL,
            result jsonb NOT NULL,
            PRIMARY KEY (job_id, grid_id)
        )""")


def downgrade() -> None:
    for table in ("batch_ehsa_result", "batch_geocode_result", "batch_locate_result",
                  "batch_partition", "batch_job"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
