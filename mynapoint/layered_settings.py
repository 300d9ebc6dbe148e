"""Settings in three layers, for the grant service and the kiosk alike: the defaults,
then a TOML file, then the environment (which wins), with keyword overrides on top.

The TOML file is the one given to ``load`` or, failing that, the one named by the
environment variable ``CONFIG_ENV``. Unknown names in the file are errors: a typo in a
technician's configuration must not be silently ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import PrivateAttr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class LayeredSettings(BaseSettings):
    CONFIG_ENV: ClassVar[str]  # e.g. GRANT_SERVICE_CONFIG

    _config_file: Path | None = PrivateAttr(default=None)

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from, if any."""
        return self._config_file

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = settings_cls.model_config.get("toml_file") or os.environ.get(cls.CONFIG_ENV)
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(str(config))))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Self:
        """Settings from the environment and ``config_file`` (default: ``CONFIG_ENV``)."""
        if config_file is None:
            return cls(**overrides)
        configured = type(
            f"Configured{cls.__name__}",
            (cls,),
            {"model_config": SettingsConfigDict(**{**cls.model_config, "toml_file": config_file})},
        )
        settings: Self = configured(**overrides)  # type() made a subclass of cls
        settings._config_file = config_file
        return settings
