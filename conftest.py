"""Registers the shared fixtures (real PostgreSQL / RabbitMQ) for every test."""

pytest_plugins = ["dropship_common.testing.pytest_plugin"]
