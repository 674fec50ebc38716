"""All ORM tables, imported here so alembic sees the whole metadata."""

from lxc_manager.core.models import Base
from lxc_manager.models.audit import AuditEvent
from lxc_manager.models.buckets import Bucket
from lxc_manager.models.containers import Container, ContainerCredential
from lxc_manager.models.deployments import (
    PHASES,
    TERMINAL_STATUSES,
    Deployment,
    DeploymentEvent,
    DeploymentStatus,
    OnFailure,
    Phase,
)
from lxc_manager.models.nodes import Node, NodeAccess, TLSMode
from lxc_manager.models.sessions import LoginThrottle, OIDCLoginState, UserSession
from lxc_manager.models.templates import (
    Template,
    TemplateBucketUse,
    TemplateOrigin,
    TemplateRevision,
    TemplateStatus,
    TemplateTag,
)
from lxc_manager.models.tokens import APIToken
from lxc_manager.models.users import OIDCIdentity, Role, User

__all__ = [
    "PHASES",
    "TERMINAL_STATUSES",
    "APIToken",
    "AuditEvent",
    "Base",
    "Bucket",
    "Container",
    "ContainerCredential",
    "Deployment",
    "DeploymentEvent",
    "DeploymentStatus",
    "LoginThrottle",
    "Node",
    "NodeAccess",
    "OIDCIdentity",
    "OIDCLoginState",
    "OnFailure",
    "Phase",
    "Role",
    "TLSMode",
    "Template",
    "TemplateBucketUse",
    "TemplateOrigin",
    "TemplateRevision",
    "TemplateStatus",
    "TemplateTag",
    "User",
    "UserSession",
]
