"""Secret settings given as files (`STEWARD_<NAME>_FILE`, as Docker secrets provide them), and the error every
settings problem is told with."""

from __future__ import annotations

import os
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import PydanticBaseSettingsSource

FILE_SUFFIX = "_FILE"
"""`STEWARD_<NAME>_FILE` names a file holding secret setting `<NAME>` (as Docker secrets provide them)."""
SECRET_FILE_MAX_BYTES = 64 * 1024
"""The largest secret file read: a PEM key is a few KiB; anything larger is the wrong file."""


class SettingsError(Exception):
    """The environment does not configure Steward well enough for the command asked."""


def secret_fields(settings_cls: type[BaseModel]) -> list[str]:
    """The settings that hold a secret (typed SecretStr): each may also be given as a file."""
    return [
        name
        for name, field in settings_cls.model_fields.items()
        if field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)
    ]


def read_secret_file(variable: str, path: str) -> str:
    """The secret in `path`, less its trailing newline; an error names the variable and file, never text."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(SECRET_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > SECRET_FILE_MAX_BYTES:
        raise SettingsError(f"{variable}: {path} is larger than {SECRET_FILE_MAX_BYTES // 1024} KiB")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise SettingsError(f"{variable}: {path} is not UTF-8 text") from None
    text = text.rstrip("\r\n")  # `echo secret > file` adds one, which would change a webhook secret
    if not text.strip():
        raise SettingsError(f"{variable}: {path} is empty")
    return text


class SecretFiles(PydanticBaseSettingsSource):
    """`STEWARD_<NAME>_FILE` for every secret setting: its value is read from that file."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every secret field at once

    def __call__(self) -> dict[str, Any]:
        environ = {key.upper(): value for key, value in os.environ.items() if value.strip()}
        found: dict[str, Any] = {}
        for name in secret_fields(self.settings_cls):
            variable = f"STEWARD_{name.upper()}"
            path = environ.get(variable + FILE_SUFFIX)
            if path is None:
                continue
            if variable in environ:
                raise SettingsError(f"set {variable} or {variable}{FILE_SUFFIX}, not both")
            found[name] = read_secret_file(variable + FILE_SUFFIX, path)
        return found
