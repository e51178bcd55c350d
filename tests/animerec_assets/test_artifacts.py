"""The artifact store on a local folder (the GCS path shares all logic but the blob calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from animerec_assets.lib.artifacts import (
    ArtifactError,
    ArtifactStore,
    GcsBlobs,
    LocalBlobs,
    blobs_for,
)
from animerec_assets.settings import load_settings


def model_folder(tmp_path: Path, payload: bytes = b"weights") -> Path:
    folder = tmp_path / "model"
    (folder / "saved_model" / "variables").mkdir(parents=True, exist_ok=True)
    (folder / "saved_model" / "variables" / "data").write_bytes(payload)
    (folder / "vocab.json").write_text('["a", "b"]')
    return folder


def test_publish_then_fetch_round_trips_files_and_metadata(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.publish("user_anime_retrieval", model_folder(tmp_path), {"recall@300": 0.8})
    assert store.latest("user_anime_retrieval") == ref.version
    assert store.versions("user_anime_retrieval") == [ref.version]
    fetched = store.fetch("user_anime_retrieval", tmp_path / "out")
    assert (tmp_path / "out" / "saved_model" / "variables" / "data").read_bytes() == b"weights"
    assert fetched.metadata["recall@300"] == 0.8
    assert sorted(fetched.metadata["files"]) == ["saved_model/variables/data", "vocab.json"]


def test_versions_are_immutable_and_latest_moves(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    store.publish("m", model_folder(tmp_path), {}, version="v1")
    with pytest.raises(ArtifactError, match="immutable"):
        store.publish("m", model_folder(tmp_path), {}, version="v1")
    store.publish("m", model_folder(tmp_path, b"new"), {}, version="v2")
    assert store.versions("m") == ["v1", "v2"]
    assert store.latest("m") == "v2"
    store.fetch("m", tmp_path / "old", version="v1")
    assert (tmp_path / "old" / "saved_model" / "variables" / "data").read_bytes() == b"weights"


def test_an_interrupted_upload_is_never_listed(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    LocalBlobs(tmp_path / "store").write("m/v9/weights.bin", b"half")  # no metadata.json
    assert store.versions("m") == []
    with pytest.raises(ArtifactError, match="no published"):
        store.latest("m")


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden"])
def test_unsafe_names_are_refused(tmp_path: Path, bad: str) -> None:
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(ArtifactError, match="invalid artifact"):
        store.publish(bad, model_folder(tmp_path), {})


def test_uri_selects_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gcs = blobs_for("gs://models-bucket/artifacts/prod")
    assert isinstance(gcs, GcsBlobs)
    assert (gcs.bucket, gcs.prefix) == ("models-bucket", "artifacts/prod")
    with pytest.raises(ArtifactError, match="unsupported"):
        blobs_for("s3://bucket")
    monkeypatch.setenv("ANIMEREC_ENV", "local")
    monkeypatch.setenv("ANIMEREC_ARTIFACT_URI", str(tmp_path / "from_settings"))
    store = ArtifactStore.from_settings(load_settings())
    assert isinstance(store.blobs, LocalBlobs)
    assert store.blobs.root == tmp_path / "from_settings"
