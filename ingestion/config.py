"""Where each source's connection settings come from.

Precedence, highest first (documented per setting in ``ingestion/README.md``):

1. a trueup environment variable (``TRUEUP_ERP_URL``, ``TRUEUP_CARRIER_DIR``...), the short form
   an operator types;
2. dlt configuration or secrets under ``sources.<source>.<key>``: the environment variable
   ``SOURCES__<SOURCE>__<KEY>`` or ``.dlt/secrets.toml`` / ``.dlt/config.toml`` in the working
   directory, so the platform is configured like any dlt project;
3. the simulated company under ``$TRUEUP_DATA_DIR/sources``, so a fresh checkout runs with no
   configuration at all.
"""

from __future__ import annotations

import os
from typing import Any

import dlt

from trueup.settings import Paths


def setting(source: str, key: str, *, env: str | None = None, default: Any = None) -> Any:
    """Resolve one setting of a source.

    Args:
        source: Source name as registered (``erp``, ``carrier``...); the dlt section is
            ``sources.<source>``.
        key: Setting name inside that section (``credentials``, ``bucket_url``...).
        env: The trueup-specific environment variable that wins over dlt config, if any.
        default: Value used when neither is set.

    Returns:
        The configured value (a string for environment variables; whatever TOML holds for dlt
        config), or ``default``.
    """
    if env and os.environ.get(env):
        return os.environ[env]
    # dlt.secrets also sees config.toml and plain environment variables, so one lookup covers
    # both secret (credentials) and non-secret (bucket_url) keys.
    value = dlt.secrets.get(f"sources.{source}.{key}")
    if value is None:
        value = dlt.config.get(f"sources.{source}.{key}")
    return default if value is None or value == "" else value


def setting_list(source: str, key: str, *, env: str | None = None) -> list[str] | None:
    """Resolve a list setting given as a TOML list or a comma-separated string.

    Args:
        source: Source name (dlt section ``sources.<source>``).
        key: Setting name.
        env: trueup-specific environment variable holding a comma-separated list.

    Returns:
        The non-empty items, or None when the setting is absent.
    """
    value = setting(source, key, env=env)
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [str(item).strip() for item in items if str(item).strip()]
    return cleaned or None


def source_dir(source: str, *, env: str, subdir: str, paths: Paths | None = None) -> str:
    """Resolve the folder or bucket URL a file-based source reads.

    Args:
        source: Source name (dlt section ``sources.<source>``, key ``bucket_url``).
        env: trueup-specific environment variable (``TRUEUP_<SOURCE>_DIR``).
        subdir: Folder of the simulated company used by default (``carrier``, ``amazon``).
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.

    Returns:
        A local path or an fsspec URL (``s3://...``) as dlt's filesystem source accepts.
    """
    paths = paths or Paths.from_env()
    return str(setting(source, "bucket_url", env=env, default=str(paths.sources / subdir)))


def erp_url(paths: Paths | None = None) -> str:
    """SQLAlchemy URL of the ERP database (default: the simulated ``erp/erp.sqlite``)."""
    paths = paths or Paths.from_env()
    default = f"sqlite:///{paths.sources / 'erp' / 'erp.sqlite'}"
    return str(setting("erp", "credentials", env="TRUEUP_ERP_URL", default=default))
