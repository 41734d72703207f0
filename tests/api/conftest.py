"""Fixtures of the API tests: see fakeapi.py."""

from __future__ import annotations

import pytest
from fakeapi import FakeApi


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()
