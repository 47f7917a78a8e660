"""pixyproxy's own settings loader against pydantic-settings, measured in fresh processes.

    .venv-test/bin/python benchmarks/settings_loader.py

Each run starts a new interpreter, imports pydantic (both pay that), then times either
importing ``pixyproxy_cli.core.settings`` and loading every setting, or importing
pydantic-settings and building a BaseSettings of five fields from the environment and
``.env``. Runs alternate; the medians and their ratio are printed. core/settings.py cites
the result for keeping its own loader.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SCRIPT = """
import sys, time
from pydantic import BaseModel, Field, SecretStr
started = time.perf_counter()
if sys.argv[1] == "ours":
    from pixyproxy_cli.core.settings import load_settings
    load_settings()
else:
    from pydantic_settings import BaseSettings, SettingsConfigDict
    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)
        db_host: str | None = None
        db_port: int = 3306
        db_password: SecretStr | None = None
        image_size: str = "1024x1024"
        openai_model: str = Field(default="m", alias="OPENAI_IMAGE_MODEL")
    Settings()
print((time.perf_counter() - started) * 1000)
"""


def main(runs: int = 15) -> None:
    times: dict[str, list[float]] = {"ours": [], "pydantic-settings": []}
    for _ in range(runs):
        for name, argument in (("ours", "ours"), ("pydantic-settings", "ps")):
            output = subprocess.run(
                [sys.executable, "-c", SCRIPT, argument], capture_output=True, text=True, check=True
            ).stdout
            times[name].append(float(output))
    ours, theirs = (statistics.median(times[name]) for name in times)
    print(f"pixyproxy settings (30 fields): {ours:.1f} ms")
    print(f"pydantic-settings (5 fields):   {theirs:.1f} ms")
    print(f"ratio pydantic-settings / ours: {theirs / ours:.2f} (+{theirs - ours:.1f} ms)")


if __name__ == "__main__":
    main()
