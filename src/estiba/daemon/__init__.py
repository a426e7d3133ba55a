"""estibad: the daemon that owns Estiba's state and serves the Docker Engine API.

`main` is the entry point; `DaemonConfig` its options; the backends implement the API's
Protocols on the engine's stores.
"""

from estiba.daemon.config import DaemonConfig, load_config

__all__ = ["DaemonConfig", "load_config"]
