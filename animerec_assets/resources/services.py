"""The crawl scheduler database, the serving Redis and the model artifact store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    import redis

    from animerec_assets.lib.artifacts import ArtifactRef
    from crawler.scheduler import CrawlScheduler


class SchedulerResource(dg.ConfigurableResource):
    """The crawl scheduler database that decides what to crawl next."""

    db_url: str

    def get_scheduler(self) -> CrawlScheduler:
        from crawler.scheduler import CrawlScheduler

        scheduler = CrawlScheduler(self.db_url)
        scheduler.create_tables()
        return scheduler


class RedisResource(dg.ConfigurableResource):
    """The Redis that serves recommendations and holds the crawl queue: ``url`` empty means the
    embedded server under ``embedded_dir``."""

    url: str = ""
    embedded_dir: str = ""

    def get_client(self) -> redis.Redis:
        from animerec_assets.lib.redis_conn import connect

        return connect(self.url or None, Path(self.embedded_dir))


class ArtifactStoreResource(dg.ConfigurableResource):
    """Where versioned model artifacts are kept: a folder or a ``gs://`` prefix."""

    uri: str

    def publish(self, kind: str, folder: Path, metadata: dict[str, Any]) -> ArtifactRef:
        """Store ``folder`` as the next version of ``kind`` and make it the latest."""
        from animerec_assets.lib.artifacts import ArtifactStore

        return ArtifactStore(self.uri).publish(kind, folder, metadata)
