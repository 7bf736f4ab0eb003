"""Settings and the YAML configuration files (defaults live beside this module)."""

from config.loader import ConfigDir, load_yaml
from config.settings import Settings, load_settings

__all__ = ["ConfigDir", "Settings", "load_settings", "load_yaml"]
