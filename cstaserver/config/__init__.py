"""Exchange data: the model, its JSON file and the data directory.

``from cstaserver.config import ExchangeData, DataDirectory, ensure_demo, ConfigError``.
Modules: :mod:`.model` (attrs classes), :mod:`.codec` (JSON), :mod:`.validate` (semantic
checks), :mod:`.store` (atomic load/save), :mod:`.defaults` (demo and empty exchange),
:mod:`.summary` (the start-up summary).
"""

from cstaserver.config.codec import from_json, to_json
from cstaserver.config.defaults import (
    DEFAULT_ADMIN_USER,
    LEGACY_ADMIN_PASSWORD,
    default_csta_servers,
    demo_exchange_data,
    empty_exchange_data,
    ensure_demo,
    ensure_exchange,
)
from cstaserver.config.model import (
    SCHEMA_VERSION,
    AdminAccount,
    ApplicationCriteria,
    AuthenticationCriteria,
    AuthMode,
    ConfigError,
    CstaServerSettings,
    ExchangeData,
    Limits,
    LineReplacement,
    ServerType,
    UserCredential,
    WebAccount,
)
from cstaserver.config.store import EXCHANGE_FILE, DataDirectory
from cstaserver.config.validate import validate

__all__ = [
    "DEFAULT_ADMIN_USER",
    "LEGACY_ADMIN_PASSWORD",
    "EXCHANGE_FILE",
    "SCHEMA_VERSION",
    "AdminAccount",
    "ApplicationCriteria",
    "AuthMode",
    "AuthenticationCriteria",
    "ConfigError",
    "CstaServerSettings",
    "DataDirectory",
    "ExchangeData",
    "Limits",
    "LineReplacement",
    "ServerType",
    "UserCredential",
    "WebAccount",
    "default_csta_servers",
    "demo_exchange_data",
    "empty_exchange_data",
    "ensure_demo",
    "ensure_exchange",
    "from_json",
    "to_json",
    "validate",
]
