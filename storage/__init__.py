"""Database schema (SQLAlchemy 2 models), Alembic migrations and the ways to read and write them."""
