"""A real PostgreSQL for tests (the Debian package's initdb and pg_ctl, see province.postgres): one
cluster per test session on a free port in a temporary folder, a fresh database per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from province.postgres import PrivatePostgres


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def province_dsn(postgres_cluster: PrivatePostgres) -> Iterator[str]:
    """The DSN of an empty database of its own."""
    import psycopg  # only the province tests need it installed

    name = f"t_{secrets.token_hex(6)}"
    admin_dsn = postgres_cluster.dsn.replace(f"dbname={postgres_cluster.database}", "dbname=postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_cluster.dsn.replace(f"dbname={postgres_cluster.database}", f"dbname={name}")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
