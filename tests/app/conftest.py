"""App tests share one process, hence one server-wide training-slot manager (app/classroom.py):
give each test a fresh one, so that runs left going by earlier tests do not queue later ones."""

from __future__ import annotations

import pytest

from app import classroom


@pytest.fixture(autouse=True)
def fresh_training_slots():
    classroom.reset_shared_manager()
    yield
    classroom.reset_shared_manager()
