"""Fixtures of the API's unit tests: a harness with fresh fakes per test."""

from __future__ import annotations

import pytest

from tests.unit.api.harness import ApiHarness


@pytest.fixture
def api() -> ApiHarness:
    return ApiHarness()
