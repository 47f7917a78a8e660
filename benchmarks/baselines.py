"""Baseline programs the benchmarks compare pixyproxy against, measured in the same run.

Run as ``python baselines.py typer --help`` (a bare five-command Typer app with pixyproxy's
global options; ``typer list --json`` runs its ``list`` command, which takes the options of
``pixyproxy list`` and prints ``[]``: the least any Typer command with those options costs),
or imported by uvicorn as ``baselines:lookup_app`` (a minimal FastAPI endpoint doing the same
GUID lookup through a plain pooled mysql-connector connection per request) and
``baselines:file_app`` (a bare Starlette FileResponse of one file).
"""

import os
import sys


def typer_app() -> None:
    from enum import StrEnum
    from typing import Annotated

    import typer

    app = typer.Typer()

    @app.callback()
    def main(
        debug: bool = False,
        version: bool = False,
        server: str | None = None,
        local: bool = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
        verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
    ) -> None:
        """pixyproxy's global options, no work."""

    class Order(StrEnum):
        OLDEST = "oldest"
        NEWEST = "newest"

    @app.command("list")
    def list_(
        as_json: Annotated[bool, typer.Option("--json")] = False,
        search: Annotated[str | None, typer.Option("--search", "-s")] = None,
        since: str | None = None,
        until: str | None = None,
        model: str | None = None,
        order: Order = Order.OLDEST,
        limit: Annotated[int | None, typer.Option(min=1)] = None,
        after: str | None = None,
        mine: bool = False,
        private: bool = False,
    ) -> None:
        """The images (none): pixyproxy list's options, no work."""
        print("[]")

    @app.command()
    def one(name: str) -> None:
        """The first command."""

    @app.command()
    def two(name: str) -> None:
        """The second command."""

    @app.command()
    def three(name: str) -> None:
        """The third command."""

    @app.command()
    def four(name: str) -> None:
        """The fourth command."""

    app(args=sys.argv[2:], prog_name="bare")


def make_lookup_app():
    import mysql.connector.pooling
    from fastapi import FastAPI, HTTPException

    pool = mysql.connector.pooling.MySQLConnectionPool(
        pool_name="baseline",
        pool_size=32,
        host=os.environ.get("DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("DB_PORT", "3306")),
        user=os.environ.get("DB_USER", "root"),
        password=os.environ.get("DB_PASSWORD", ""),
        database=os.environ["DB_NAME"],
        charset="utf8mb4",
        collation="utf8mb4_unicode_ci",
    )
    app = FastAPI()

    @app.get("/image/{guid}")
    def get_image(guid: str) -> dict:
        connection = pool.get_connection()
        try:
            cursor = connection.cursor(dictionary=True)
            cursor.execute(
                "SELECT guid, prompt, is_private, owner, provider, model, media_type, "
                "created_at, updated_at FROM images WHERE guid = %(guid)s",
                {"guid": guid},
            )
            row = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
        if row is None or row["is_private"]:
            raise HTTPException(404)
        return row

    return app


def make_file_app():
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = os.environ["BASELINE_FILE"]

    async def content(request):
        return FileResponse(path, media_type="image/png")

    return Starlette(routes=[Route("/image/{guid}/content", content)])


if __name__ == "__main__" and sys.argv[1:2] == ["typer"]:
    typer_app()
