"""Create the PostgreSQL test database named in the URL if it does not exist yet.

Usage: python .ci/ensure_database.py postgresql+psycopg://postgres@127.0.0.1:5432/konzeptwerk_test
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError


def main(raw_url: str) -> int:
    url = make_url(raw_url)
    name = url.database
    if not name:
        print(f"no database name in {raw_url!r}", file=sys.stderr)
        return 2
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                quoted = conn.dialect.identifier_preparer.quote(name)
                conn.execute(text(f"CREATE DATABASE {quoted}"))
                print(f"Created the test database {name}.")
    except OperationalError as err:
        print(
            f"PostgreSQL does not answer at {url.render_as_string(hide_password=True)}:\n"
            f"  {err.orig}\n"
            "Start it (see README, 'Tests'), set PG_TEST_URL, or run `make test-sqlite`.",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
