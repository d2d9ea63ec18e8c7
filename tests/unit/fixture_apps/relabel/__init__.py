"""An app whose AppConfig sets a custom label, so the config's spelling and the registry's disagree: multidb.E003."""
