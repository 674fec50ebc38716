"""A deployment's secrets (root password, secret template inputs), encrypted at rest and bound to its row.

The plaintext is a JSON object of strings. Keys: ``root_password`` and ``input:<name>`` for each secret
template input (use :func:`input_key`). The ciphertext's associated data names the row and column, so a
blob copied into another deployment fails to decrypt. Never log, return, queue or emit these values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lxc_manager.core.config import Settings
from lxc_manager.core.crypto import SecretDecryptionError, load_keyring, secret_context
from lxc_manager.core.errors import ServiceUnavailable
from lxc_manager.models import Deployment

ROOT_PASSWORD = "root_password"  # noqa: S105 - a key name, not a secret
INPUT_PREFIX = "input:"


def input_key(name: str) -> str:
    return f"{INPUT_PREFIX}{name}"


def secret_inputs(secrets: Mapping[str, str]) -> dict[str, str]:
    """The secret template inputs by input name."""
    return {key[len(INPUT_PREFIX) :]: value for key, value in secrets.items() if key.startswith(INPUT_PREFIX)}


def deployment_secret_context(deployment_id: str) -> bytes:
    return secret_context("deployments", deployment_id, "secrets")


def encrypt_deployment_secrets(settings: Settings, deployment: Deployment, secrets: Mapping[str, str]) -> None:
    """Store ``secrets`` in ``deployment.secrets_enc`` (None when there are none). The row id must be set."""
    if not deployment.id:
        raise ValueError("the deployment needs its id before its secrets are encrypted")
    if not secrets:
        deployment.secrets_enc = None
        return
    payload = json.dumps(dict(secrets), separators=(",", ":"), sort_keys=True)
    deployment.secrets_enc = load_keyring(settings).encrypt(payload, deployment_secret_context(deployment.id))


def decrypt_deployment_secrets(settings: Settings, deployment: Deployment) -> dict[str, str]:
    """The decrypted secrets ({} when none); 503 ``secret_unreadable`` when the key is wrong or retired."""
    if deployment.secrets_enc is None:
        return {}
    try:
        text = load_keyring(settings).decrypt_text(deployment.secrets_enc, deployment_secret_context(deployment.id))
    except SecretDecryptionError:
        raise ServiceUnavailable(
            "The secrets of this deployment cannot be decrypted (wrong or retired secret key?)",
            code="secret_unreadable",
        ) from None
    data = json.loads(text)
    return {str(key): str(value) for key, value in data.items()}
