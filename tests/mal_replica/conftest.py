"""A small world and one running replica, shared by the replica's tests (built once)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mal_replica.server import ReplicaHandle, run_replica
from mal_replica.world import World, generate_world

# Big enough for every page type to have content, small enough to build in a fraction of a second.
WORLD_ARGS = dict(n_users=600, n_anime=300, seed=7, reviewer_share=0.3, mean_friends=6.0)


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world(**WORLD_ARGS)


@pytest.fixture(scope="session")
def replica(world: World) -> Iterator[ReplicaHandle]:
    with run_replica(world=world) as handle:
        yield handle


@pytest.fixture
def client(replica: ReplicaHandle) -> Iterator[httpx.Client]:
    replica.clear_faults()
    with httpx.Client(base_url=replica.base_url, timeout=10.0) as http:
        yield http
    replica.clear_faults()
