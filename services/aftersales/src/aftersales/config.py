"""aftersales' own settings, on the shared base (``DROPSHIP_`` environment variables)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dropship_common.egress import EgressRules, url_problem
from dropship_common.runtime import ServiceRuntime
from dropship_common.settings import Settings

MB = 1024 * 1024


class AftersalesSettings(Settings):
    evidence_store: Literal["directory", "s3"] = Field(
        default="directory",
        description="where the buyers' photos are kept: `directory` (embedded mode, one "
        "process) or `s3` (any S3-compatible object storage; distributed mode with "
        "several replicas)",
    )
    evidence_dir: Path | None = Field(
        default=None, description="`directory` store: the folder (default `<data dir>/evidence`)"
    )
    evidence_s3_endpoint_url: str | None = Field(
        default=None,
        description="`s3` store: the endpoint (MinIO, Ceph, R2 …; none: AWS by region)",
    )
    evidence_s3_bucket: str = Field(default="", description="`s3` store: the bucket (required)")
    evidence_s3_region: str = Field(default="us-east-1", description="`s3` store: the region")
    evidence_s3_access_key_id: str | None = Field(
        default=None, description="`s3` store: the access key id (none: boto3's own chain)"
    )
    evidence_s3_secret_access_key: str | None = Field(
        default=None, description="`s3` store: the secret access key"
    )
    evidence_s3_prefix: str = Field(
        default="evidence/", description="`s3` store: the prefix of every object's key"
    )
    evidence_max_photos: int = Field(
        default=5, ge=1, le=20, description="photos a buyer may attach to one form"
    )
    evidence_max_photo_bytes: int = Field(
        default=10 * MB, ge=1024, description="largest photo a buyer may upload (bytes)"
    )
    evidence_max_pixels: int = Field(
        default=40_000_000,
        ge=10_000,
        description="largest photo in pixels (width x height): refuses decompression bombs",
    )
    help_lookup_max_failures: int = Field(
        default=5,
        ge=1,
        description="buyer page: failed 'order number + e-mail' look-ups per client IP, "
        "and per order number, within the window before further ones are answered 429 "
        "(counted in the database: every replica counts the same ones)",
    )
    help_lookup_window_seconds: int = Field(
        default=900, ge=1, description="buyer page: the look-up limit's window"
    )
    photo_sweep_seconds: float = Field(
        default=600.0,
        gt=0,
        description="how often photos no case kept (a process that died between storing "
        "them and writing the case) and photos of redacted orders are deleted from the store",
    )
    photo_orphan_after_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="how old a stored photo without a case must be before the sweep "
        "deletes it (longer than any upload takes)",
    )

    @model_validator(mode="after")
    def _storage_we_can_use(self) -> AftersalesSettings:
        if self.evidence_store == "s3":
            if not self.evidence_s3_bucket:
                raise ValueError("DROPSHIP_EVIDENCE_S3_BUCKET is required with the s3 store")
            if self.evidence_s3_endpoint_url:
                problem = url_problem(
                    self.evidence_s3_endpoint_url, EgressRules.from_settings(self)
                )
                if problem:
                    raise ValueError(f"DROPSHIP_EVIDENCE_S3_ENDPOINT_URL: {problem}")
        return self

    @property
    def upload_max_body_bytes(self) -> int:
        """A form with every photo at its largest, and its fields."""
        return self.evidence_max_photos * self.evidence_max_photo_bytes + MB


def config_of(rt: ServiceRuntime) -> AftersalesSettings:
    """The running service's settings, typed as aftersales'."""
    return rt.settings.as_config(AftersalesSettings)


def larger_bodies(settings: Settings) -> Mapping[str, int]:
    """The buyer's forms carry photos: their bodies may be larger than the default."""
    limit = settings.as_config(AftersalesSettings).upload_max_body_bytes
    return {"/help/": limit, "/cases/": limit}
