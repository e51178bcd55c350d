"""A local stand-in for MyAnimeList: a synthetic MAL world and a web server that serves it.

MAL cannot be reached from the project's machines; the replica lets every stage run and be
tested offline, and lets the crawler be exercised over real HTTP. Production code never
imports this package (tests, benchmarks and the ``animerec replica`` commands do).

- ``world.generate_world(n_users, n_anime, seed, **params) -> World``: the vectorized world.
- ``export.processed_tables(world, source="mal") -> dict[str, DataFrame]``: ground truth in the
  five processed schemas plus ``reviews`` and ``history``.
- ``server.run_replica(n_users=..., n_anime=..., seed=..., port=0) as replica``: serves MAL's
  URL paths at ``replica.base_url`` and a Jikan-v4 API at ``replica.jikan_base_url``; faults
  via ``replica.set_fault_rates`` / ``replica.add_fault_rule`` or ``POST /_replica/faults``;
  request counters via ``replica.stats()`` or ``GET /_replica/stats``; the world moves a round
  on with ``replica.evolve()`` / ``POST /_replica/evolve`` or every N entry pages
  (``evolve_every``).
- ``evolve.evolve_world(world, round) -> World``: one round of change (lists, favorites,
  friendships, new anime, relations, recommendations, private and deleted users, deleted
  anime), deterministic per seed and round.

Relative dates on the pages ("5 hours ago", "Yesterday, 2:25 PM") are relative to the world's
``now`` (``WorldParams.now``), not to the wall clock, so pages are reproducible.
"""
