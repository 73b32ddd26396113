"""What a publish leaves at the destination besides the files: the manifest shards that record them."""

from __future__ import annotations

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import shard_of


def with_manifest(files: list[str]) -> list[str]:
    """``files`` and the manifest shards recording them (plan.shard_of), sorted as a listing is."""
    return sorted({*files, *(shard_of(rel) for rel in files)})
