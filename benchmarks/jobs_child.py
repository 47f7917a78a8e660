"""One run of the jobs benchmark, in a process of its own (so that its peak RSS is its own).

    python benchmarks/jobs_child.py COUNT LATENCY WORKERS DATA_DIR [sqlite|mysql] [direct]

Queues COUNT prompts as one batch and runs them on WORKERS threads against a provider that
sleeps LATENCY seconds and returns a small PNG; prints JSON: the wall time of the run, and
the provider's own time per job (for the queue's overhead). With ``mysql``, the database is
the one DB_* in the environment names; otherwise SQLite in DATA_DIR. ``direct`` makes the
same images by plain ``generate_images`` calls on one thread instead: the queue's baseline.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.providers import GeneratedImage, ImageProviderInterface
    from pixyproxy_cli.data.providers.placeholder import render_png
    from pixyproxy_cli.service.access import Caller
    from pixyproxy_cli.service.init import build_services
    from pixyproxy_cli.service.jobs import JobService

    count, latency, workers = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    data_dir, backend = Path(sys.argv[4]), (sys.argv[5] if len(sys.argv) > 5 else "sqlite")
    direct = len(sys.argv) > 6 and sys.argv[6] == "direct"
    png = render_png("benchmark", 64, 64)

    class SleepingProvider(ImageProviderInterface):
        name = "fake"
        model = "gpt-image-1.5"

        def generate(
            self, prompt: str, n: int = 1, options: Any = None, progress: Any = None
        ) -> list[GeneratedImage]:
            if latency:
                time.sleep(latency)
            return [GeneratedImage(data=png, media_type="image/png", provider="fake", model="m")]

        def edit(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    overrides: dict[str, Any] = {"data_dir": data_dir, "db_pool_size": max(workers + 4, 10)}
    if backend == "sqlite":
        overrides["db_backend"] = "sqlite"
        settings = load_settings(overrides, environ={})
    else:
        settings = load_settings(overrides)
    from pixyproxy_cli.core.constants import Provision
    from pixyproxy_cli.data.init import create_database

    database = create_database(settings, Provision.DATABASE)  # a new MariaDB database too
    services = build_services(settings, provider=SleepingProvider(), database=database)
    if direct:
        started = time.perf_counter()
        for n in range(count):
            services.prompts.generate_images({"prompt": f"prompt {n}"}, 1)
        print(json.dumps({"wall": time.perf_counter() - started, "done": count}))
        services.close()
        return
    jobs = JobService(services.prompts.dependencies, provider_timeout=60)
    # As `generate --from` does: the list is read, queued, and let go before the jobs run.
    requests = [JobService.request_for(f"prompt {n}", ImageOptions()) for n in range(count)]
    batch = jobs.submit(requests, Caller())
    del requests
    started = time.perf_counter()
    jobs.work(batch, workers=workers, stop=threading.Event(), finished=lambda job: None)
    wall = time.perf_counter() - started
    done = jobs.progress(batch).done
    services.close()
    print(json.dumps({"wall": wall, "done": done}))


if __name__ == "__main__":
    main()
