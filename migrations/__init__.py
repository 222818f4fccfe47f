"""Alembic environment of the core (a package only so that a wheel installs it)."""
