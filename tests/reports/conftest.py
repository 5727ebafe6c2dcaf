import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _postgres_only(db):
    assert connection.vendor == "postgresql"
