"""Tuning knobs of the pipeline (``LXCM_DEPLOY_*`` environment variables), kept out of the core settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PipelineOptions(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LXCM_DEPLOY_", env_file=None, extra="ignore")

    lease_ttl_s: float = 30.0  # a worker that stops renewing for this long loses the deployment
    heartbeat_interval_s: float = 5.0
    stale_after_s: float = 45.0  # the reconciler re-enqueues running deployments without a heartbeat this long
    task_timeout_s: float = 900.0  # one PVE task (create, start, snapshot, delete)
    task_poll_s: float = 0.5
    lock_wait_s: float = 60.0  # how long a CT lock (backup, snapshot …) may hold us up per attempt
    ip_timeout_s: float = 120.0
    ip_poll_s: float = 1.0
    command_timeout_s: float = 1800.0  # one provisioning command (apt-get install, a script)
    cancel_poll_s: float = 1.0  # how often a running command checks for a cancel request
    verify_attempts: int = 30
    verify_interval_s: float = 2.0
    create_attempts: int = 8  # fresh VMIDs tried when "already exists"
    max_tries: int = 5  # job runs before a transient error becomes permanent
    retry_backoff_s: float = 5.0
    retry_backoff_max_s: float = 120.0
    log_flush_lines: int = 50
    log_flush_interval_s: float = 0.25
