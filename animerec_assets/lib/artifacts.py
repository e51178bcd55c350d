"""Versioned model artifacts under ``load_settings().artifact_uri``.

A local folder on a developer machine, ``gs://bucket/prefix`` in production (google-cloud-
storage). Layout: ``<kind>/<version>/<files...>`` with ``metadata.json`` written LAST, so a
version without it is an interrupted upload and is never listed or loaded; ``<kind>/LATEST``
names the newest complete version. Versions sort by time (``20260101T120000Z-ab12cd``).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from animerec_assets.settings import Settings, load_settings

METADATA = "metadata.json"
LATEST = "LATEST"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class ArtifactError(RuntimeError):
    """An artifact is missing, incomplete, or named in a way we refuse to store."""


def check_name(value: str, what: str) -> str:
    """Kinds and versions become path segments: no slashes, no '..', nothing surprising."""
    if not _NAME.match(value) or ".." in value:
        raise ArtifactError(f"invalid artifact {what} {value!r}: use letters, digits, _ . -")
    return value


def new_version(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


class Blobs(Protocol):
    """The few storage operations the store needs, by slash-separated key."""

    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str) -> list[str]: ...


@dataclass(frozen=True)
class LocalBlobs:
    root: Path

    def _path(self, key: str) -> Path:
        return self.root / key

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)  # atomic on one filesystem: readers never see half a file

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise ArtifactError(f"no artifact file {key!r} under {self.root}") from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            str(path.relative_to(self.root)).replace("\\", "/")
            for path in base.rglob("*")
            if path.is_file() and not path.name.endswith(".partial")
        )


@dataclass(frozen=True)
class GcsBlobs:
    bucket: str
    prefix: str
    client: Any = None

    def _bucket(self) -> Any:
        client = self.client
        if client is None:
            from google.cloud import storage

            client = storage.Client()
        return client.bucket(self.bucket)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def write(self, key: str, data: bytes) -> None:
        self._bucket().blob(self._name(key)).upload_from_string(data)

    def read(self, key: str) -> bytes:
        blob = self._bucket().blob(self._name(key))
        if not blob.exists():
            raise ArtifactError(f"no artifact file gs://{self.bucket}/{self._name(key)}")
        return blob.download_as_bytes()

    def exists(self, key: str) -> bool:
        return bool(self._bucket().blob(self._name(key)).exists())

    def keys(self, prefix: str) -> list[str]:
        start = len(self._name(""))
        blobs = self._bucket().list_blobs(prefix=self._name(prefix))
        return sorted(blob.name[start:] for blob in blobs)


def blobs_for(uri: str) -> Blobs:
    if uri.startswith("gs://"):
        bucket, _, prefix = uri[len("gs://") :].partition("/")
        if not bucket:
            raise ArtifactError(f"artifact URI {uri!r} names no bucket")
        return GcsBlobs(bucket, prefix.strip("/"))
    if "://" in uri:
        raise ArtifactError(f"unsupported artifact URI {uri!r}: use a folder or gs://bucket/prefix")
    return LocalBlobs(Path(uri).expanduser())


@dataclass(frozen=True)
class ArtifactRef:
    kind: str
    version: str
    uri: str
    metadata: dict[str, Any]


class ArtifactStore:
    def __init__(self, uri: str, blobs: Blobs | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.blobs = blobs or blobs_for(uri)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ArtifactStore:
        return cls((settings or load_settings()).artifact_uri)

    def publish(
        self, kind: str, folder: Path, metadata: dict[str, Any], version: str | None = None
    ) -> ArtifactRef:
        """Upload every file of ``folder`` as ``<kind>/<version>/``, metadata last, then LATEST."""
        kind = check_name(kind, "kind")
        version = check_name(version or new_version(), "version")
        if self.blobs.exists(f"{kind}/{version}/{METADATA}"):
            raise ArtifactError(f"{kind}/{version} already exists; versions are immutable")
        files = sorted(path for path in Path(folder).rglob("*") if path.is_file())
        for path in files:
            relative = str(path.relative_to(folder)).replace("\\", "/")
            if relative == METADATA:
                continue
            self.blobs.write(f"{kind}/{version}/{relative}", path.read_bytes())
        record = {
            **metadata,
            "kind": kind,
            "version": version,
            "published_at": datetime.now(UTC).isoformat(),
            "files": [
                name
                for name in (str(p.relative_to(folder)).replace("\\", "/") for p in files)
                if name != METADATA
            ],
        }
        self.blobs.write(
            f"{kind}/{version}/{METADATA}", json.dumps(record, indent=2, default=str).encode()
        )
        self.blobs.write(f"{kind}/{LATEST}", version.encode())
        return ArtifactRef(kind, version, f"{self.uri}/{kind}/{version}", record)

    def versions(self, kind: str) -> list[str]:
        """Complete versions of ``kind``, oldest first."""
        kind = check_name(kind, "kind")
        found = {
            key.split("/")[1]
            for key in self.blobs.keys(f"{kind}/")
            if key.count("/") == 2 and key.endswith(f"/{METADATA}")
        }
        return sorted(found)

    def latest(self, kind: str) -> str:
        kind = check_name(kind, "kind")
        if not self.blobs.exists(f"{kind}/{LATEST}"):
            raise ArtifactError(f"no published {kind!r} artifact in {self.uri}")
        return self.blobs.read(f"{kind}/{LATEST}").decode().strip()

    def metadata(self, kind: str, version: str | None = None) -> dict[str, Any]:
        version = check_name(version or self.latest(kind), "version")
        return json.loads(self.blobs.read(f"{check_name(kind, 'kind')}/{version}/{METADATA}"))

    def fetch(self, kind: str, destination: Path, version: str | None = None) -> ArtifactRef:
        """Download a complete version into ``destination`` (replacing what is there)."""
        meta = self.metadata(kind, version)
        version = meta["version"]
        destination = Path(destination)
        if destination.exists():
            shutil.rmtree(destination)
        for relative in [*meta["files"], METADATA]:
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.blobs.read(f"{kind}/{version}/{relative}"))
        return ArtifactRef(kind, version, f"{self.uri}/{kind}/{version}", meta)
