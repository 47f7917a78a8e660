"""Where an invocation's images live: this machine's database, or a pixyproxy server.

``CliState.backend()`` chooses one; commands call it the same way in both modes and never
ask which it is. What differs (a server checks its own flags, keeps its files, and leaves
admin work to the machine that has the database) is said here, once per mode.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import AuthenticationError, InputValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pixyproxy_cli.commands.signin import SignedIn, Who
    from pixyproxy_cli.core.filters import ImageFilters
    from pixyproxy_cli.core.models import ImagePublic
    from pixyproxy_cli.core.prompt_file import PromptLine
    from pixyproxy_cli.service.access import Caller
    from pixyproxy_cli.service.init import Services
    from pixyproxy_cli.service.interfaces import (
        AdminPromptServiceInterface,
        PromptServiceInterface,
    )
    from pixyproxy_cli.service.jobs import JobService
    from pixyproxy_cli.service.models import ModelListing
    from pixyproxy_cli.service.provenance import ProvenanceService
    from pixyproxy_cli.service.public_prompts import PromptService
    from pixyproxy_cli.service.remote import RemotePromptService, RemoteSession
    from pixyproxy_cli.service.remote_jobs import RemoteJobs
    from pixyproxy_cli.service.usage import UsageLine

SERVER_SETTINGS = {"image_provider": "--provider", "openai_model": "--model"}
"""Flags that choose the server's own settings: not available in remote mode."""


def _remote_options(overrides: dict[str, Any], endpoint: str | None = None) -> dict[str, Any]:
    """The image flags given among ``overrides`` as a server takes them (its fields' names).

    With ``endpoint`` (``generate`` or ``edit``), only the flags that endpoint takes.
    """
    from pixyproxy_cli.core.image_options import IMAGE_OPTIONS

    fields = {
        option.setting: option.name
        for option in IMAGE_OPTIONS
        if endpoint is None or option.takes(endpoint)
    }
    return {
        fields[name]: value
        for name, value in overrides.items()
        if name in fields and value is not None
    }


def _file_lines(message: str, numbers: list[int]) -> str:
    """A server's words about a list's requests, each named by its line in the file.

    ``requests.2.size: ...`` (counted from 0) becomes ``line 4, size: ...``.
    """
    import re

    def line(found: re.Match[str]) -> str:
        index = int(found[1])
        return f"line {numbers[index]}, " if index < len(numbers) else found[0]

    return re.sub(r"\brequests\.(\d+)\.", line, message)


class Backend(ABC):
    """The images, sessions and services of one mode, as the commands use them."""

    @abstractmethod
    def prompts(self, overrides: dict[str, Any]) -> PromptServiceInterface:
        """The prompt service of the signed-in user (anonymous when nobody is).

        ``overrides`` are settings given as flags. Raises AuthenticationError when stored
        credentials no longer authenticate, InputValidationError for a flag not taken here.
        """

    @abstractmethod
    def admin_prompts(self, refusal: str) -> AdminPromptServiceInterface:
        """The local admin's prompt service; InputValidationError(``refusal``) with a server."""

    @abstractmethod
    def hidden_images(self, filters: ImageFilters) -> int | None:
        """How many images others' privacy hides from a listing; None when not known."""

    @abstractmethod
    def ready_to_generate(
        self, overrides: dict[str, Any], check: Callable[[Services], None]
    ) -> str | None:
        """Check the flags with ``check`` before any money is spent; the provider's notice.

        ``check`` raises InputValidationError for a flag the settings here cannot honour.
        """

    @abstractmethod
    def stored_file(self, prompts: PromptServiceInterface, guid: str) -> str | None:
        """Where an image's file is stored (a path, or an s3:// URL); None for a server's."""

    @abstractmethod
    def image_extras(self, prompts: PromptServiceInterface, image: ImagePublic) -> dict[str, str]:
        """The lines ``show`` adds to an image's details here (its file, its provenance)."""

    @abstractmethod
    def stored_provenance(self, prompts: PromptServiceInterface) -> ProvenanceService:
        """Provenance checks of stored images. Raises InputValidationError with a server."""

    @abstractmethod
    def jobs(self, overrides: dict[str, Any]) -> tuple[JobService, Caller]:
        """The job queue, and who asks. Raises InputValidationError with a server."""

    @abstractmethod
    def run_prompt_file(
        self,
        lines: list[PromptLine],
        name: str,
        *,
        n: int | None,
        private: bool,
        overrides: dict[str, Any],
        batch_api: bool,
        workers: int,
        as_json: bool,
        notice: str | None,
    ) -> None:
        """``generate --from``: queue a file's checked ``lines`` as one batch and see it through.

        Each line's fields win over the flags (``overrides``, ``n``, ``private``). Prints
        each job as it ends (``as_json``) and how the batch went; exits 1 when a job failed.
        Raises InputValidationError naming the line when one is refused: nothing is queued.
        """

    @abstractmethod
    def listed_jobs(self, batch: str | None, limit: int) -> list[dict[str, Any]]:
        """A batch's jobs by line, or (``batch`` None) the newest first: their public details.

        Raises InputValidationError for a malformed GUID.
        """

    @abstractmethod
    def job(self, guid: str) -> dict[str, Any]:
        """One job's public details. Raises RecordNotFoundError."""

    @abstractmethod
    def cancel_jobs(self, guids: list[str], batch: str | None) -> int:
        """Cancel the open jobs among ``guids`` and of ``batch``; how many were cancelled."""

    @abstractmethod
    def models(self) -> ModelListing:
        """The image models the key in use may use."""

    @abstractmethod
    def usage(self, by: str, since: datetime | None) -> list[UsageLine]:
        """Images and tokens summed by ``by`` from ``since`` (a UTC day) on."""

    @abstractmethod
    def login(self, username: str, password: str) -> SignedIn:
        """Check the credentials and keep them. Raises AuthenticationError."""

    @abstractmethod
    def logout(self) -> tuple[str, str | None]:
        """Forget the credentials: what to say, and a warning if something was left."""

    @abstractmethod
    def who(self) -> Who:
        """Who is logged in. Raises AuthenticationError when nobody is."""

    def open_quietly(self) -> None:  # noqa: B027 - a hook: only the local mode opens anything
        """Open what reads need without creating anything (for shell completion)."""

    def close(self) -> None:  # noqa: B027 - a hook: only what was opened is closed
        """Close what this backend opened."""


class LocalBackend(Backend):
    """The database of this machine, as its local admin."""

    def __init__(self, services: Callable[..., Services]) -> None:
        self._services = services

    def prompts(self, overrides: dict[str, Any]) -> PromptServiceInterface:
        """See Backend.prompts."""
        return self._signed_in(self._services(**overrides))

    def admin_prompts(self, refusal: str) -> AdminPromptServiceInterface:
        """See Backend.admin_prompts: the local admin's service is the signed-in user's."""
        return self._signed_in(self._services())

    def hidden_images(self, filters: ImageFilters) -> int | None:
        """See Backend.hidden_images."""
        return self._signed_in(self._services()).count_hidden_images(filters=filters)

    @staticmethod
    def _signed_in(services: Services) -> PromptService:
        """The prompt service of the user signed in on this machine (anonymous: nobody)."""
        return services.prompts_for(services.sessions.current_user())

    def ready_to_generate(
        self, overrides: dict[str, Any], check: Callable[[Services], None]
    ) -> str | None:
        """See Backend.ready_to_generate."""
        services = self._services(Provision.SCHEMA, **overrides)
        check(services)
        return services.provider_notice

    def jobs(self, overrides: dict[str, Any]) -> tuple[JobService, Caller]:
        """See Backend.jobs: this machine's queue, as the user signed in here."""
        from pixyproxy_cli.service.access import Caller

        services = self._services(Provision.SCHEMA, **overrides)
        user = services.sessions.current_user()
        caller = Caller(viewer=None if user is None else user.username, local_admin=True)
        return services.jobs, caller

    def run_prompt_file(
        self,
        lines: list[PromptLine],
        name: str,
        *,
        n: int | None,
        private: bool,
        overrides: dict[str, Any],
        batch_api: bool,
        workers: int,
        as_json: bool,
        notice: str | None,
    ) -> None:
        """See Backend.run_prompt_file: run by ``workers`` threads here, or the Batch API."""
        from pixyproxy_cli.commands.jobs import run_prompt_file_here

        run_prompt_file_here(
            self.jobs(overrides),
            lines,
            name,
            n=n,
            private=private,
            batch_api=batch_api,
            workers=workers,
            as_json=as_json,
            notice=notice,
        )

    def listed_jobs(self, batch: str | None, limit: int) -> list[dict[str, Any]]:
        """See Backend.listed_jobs: this machine's queue, as its local admin."""
        service, caller = self.jobs({})
        if batch is not None:
            found = service.batch_jobs(batch, caller, limit=limit)
        else:
            found = service.recent(caller, limit=limit)
        return [job.public() for job in found]

    def job(self, guid: str) -> dict[str, Any]:
        """See Backend.job."""
        service, caller = self.jobs({})
        return service.get(guid, caller).public()

    def cancel_jobs(self, guids: list[str], batch: str | None) -> int:
        """See Backend.cancel_jobs: a batch sent to the Batch API is stopped there too."""
        service, caller = self.jobs({})
        cancelled = service.cancel(guids, caller)
        if batch is not None:
            open_jobs = [
                job for job in service.batch_jobs(batch, caller, limit=100_000) if not job.finished
            ]
            if any(job.remote for job in open_jobs):  # the provider is asked to stop it too
                cancelled += service.remote.cancel(batch, caller)
            else:
                cancelled += service.cancel([job.guid for job in open_jobs], caller)
        return cancelled

    def stored_file(self, prompts: PromptServiceInterface, guid: str) -> str | None:
        """See Backend.stored_file."""
        return prompts.get_image_file(guid).location

    def image_extras(self, prompts: PromptServiceInterface, image: ImagePublic) -> dict[str, str]:
        """See Backend.image_extras."""
        from pixyproxy_cli.commands.provenance import describe_verdict
        from pixyproxy_cli.core.exceptions import RecordNotFoundError

        extra = {}
        try:
            extra["File"] = prompts.get_image_file(image.guid).location
        except RecordNotFoundError:
            extra["File"] = "(missing: pixyproxy doctor says more)"
        kept = self.stored_provenance(prompts).last(image.guid)
        if kept is not None:
            extra["Provenance"] = describe_verdict(kept)
        return extra

    def stored_provenance(self, prompts: PromptServiceInterface) -> ProvenanceService:
        """See Backend.stored_provenance."""
        return self._services().provenance_for(prompts)

    def models(self) -> ModelListing:
        """See Backend.models."""
        return self._services().models.list_models()

    def usage(self, by: str, since: datetime | None) -> list[UsageLine]:
        """See Backend.usage: every image in this machine's database."""
        moment = since.replace(tzinfo=UTC) if since else None
        return self._services().usage.summary(by=by, since=moment)

    def login(self, username: str, password: str) -> SignedIn:
        """See Backend.login: the password itself is kept, for this machine's database."""
        from pixyproxy_cli.commands.signin import SignedIn

        sessions = self._services().sessions
        session = sessions.login(username, password)
        return SignedIn(
            f"Logged in as {session.user.username}; the password is kept in {session.source}",
            session.warning,
            "PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD are set and take precedence"
            if sessions.environment_overrides_keyring
            else None,
        )

    def logout(self) -> tuple[str, str | None]:
        """See Backend.logout."""
        who = self._services().sessions.logout()
        return (f"Logged out {who}" if who else "Not logged in"), None

    def who(self) -> Who:
        """See Backend.who."""
        from pixyproxy_cli.commands.signin import Who

        session = self._services().sessions.current()
        if session is None:
            raise AuthenticationError("Not logged in: run pixyproxy login")
        user = session.user
        return Who(
            f"{user.username} (class {user.class_key}); credentials from {session.source}",
            {**user.model_dump(mode="json"), "source": session.source},
            session.warning,
        )

    def open_quietly(self) -> None:
        """See Backend.open_quietly: completing must not create a database."""
        self._services(Provision.NOTHING)


class RemoteBackend(Backend):
    """A pixyproxy server, as the user whose token is kept for it."""

    def __init__(self, server: str, session: Callable[[], RemoteSession]) -> None:
        self.server = server
        self._session = session
        self._prompts: RemotePromptService | None = None
        self._jobs: RemoteJobs | None = None

    def _say_remote(self) -> None:
        """Under -v: which server this invocation talks to."""
        from pixyproxy_cli.commands import output

        output.info(f"server: {self.server} (remote mode; --local for this machine's database)")

    def _refuse_server_settings(self, overrides: dict[str, Any]) -> None:
        for name, flag in SERVER_SETTINGS.items():
            if overrides.get(name) is not None:
                raise InputValidationError(
                    f"{flag} chooses this machine's settings; with a server ({self.server}) "
                    "its own apply (or use --local)"
                )

    def prompts(self, overrides: dict[str, Any]) -> RemotePromptService:
        """See Backend.prompts: the server's own settings apply, but for image flags."""
        self._refuse_server_settings(overrides)
        if self._prompts is None:
            from pixyproxy_cli.service.remote import RemotePromptService

            self._say_remote()
            options = _remote_options(overrides)
            self._prompts = RemotePromptService(self._session().client(), options)
        return self._prompts

    def admin_prompts(self, refusal: str) -> AdminPromptServiceInterface:
        """See Backend.admin_prompts: never with a server."""
        raise InputValidationError(refusal)

    def hidden_images(self, filters: ImageFilters) -> int | None:
        """See Backend.hidden_images: a server does not say."""
        return None

    def ready_to_generate(
        self, overrides: dict[str, Any], check: Callable[[Services], None]
    ) -> str | None:
        """See Backend.ready_to_generate: a server checks its own settings and provider."""
        return None

    def jobs(self, overrides: dict[str, Any]) -> tuple[JobService, Caller]:
        """See Backend.jobs: not over HTTP yet."""
        raise InputValidationError(
            f"lists of prompts and jobs work on this machine's database only, not with a "
            f"server ({self.server}): use --local"
        )

    def _remote_jobs(self) -> RemoteJobs:
        if self._jobs is None:
            from pixyproxy_cli.service.remote_jobs import RemoteJobs

            self._say_remote()
            self._jobs = RemoteJobs(self._session().client())
        return self._jobs

    def run_prompt_file(
        self,
        lines: list[PromptLine],
        name: str,
        *,
        n: int | None,
        private: bool,
        overrides: dict[str, Any],
        batch_api: bool,
        workers: int,
        as_json: bool,
        notice: str | None,
    ) -> None:
        """See Backend.run_prompt_file: ``POST /jobs``, then watched as the server runs it.

        At most 100 prompts (the server's bound for one list); the server's job workers run
        them (``workers`` is this machine's and does not apply), and its Batch API use is
        its own. A job's ``line`` is its place in the list sent; messages name the file's.
        """
        from pixyproxy_cli.commands import output
        from pixyproxy_cli.commands.jobs import watch_remote_batch

        if batch_api:
            raise InputValidationError(
                f"--batch sends a list to the provider's Batch API from this machine; with a "
                f"server ({self.server}) use --local, or leave --batch out"
            )
        self._refuse_server_settings(overrides)
        options = _remote_options(overrides, "generate")
        requests = []
        for line in lines:
            count, hidden = line.count_and_privacy(n, private)
            requests.append(
                {"prompt": line.prompt, "n": count, "private": hidden, **options, **line.options}
            )
        numbers = [line.line for line in lines]
        try:
            batch, queued = self._remote_jobs().submit(requests)
        except InputValidationError as error:  # say which file, and which of its lines
            raise InputValidationError(f"{name}: {_file_lines(error.message, numbers)}") from None
        output.status(f"Queued {len(queued)} prompt(s) as batch {batch} on {self.server}")
        watch_remote_batch(self._remote_jobs(), batch, numbers, as_json=as_json)

    def listed_jobs(self, batch: str | None, limit: int) -> list[dict[str, Any]]:
        """See Backend.listed_jobs: the server's, as the token's user sees them."""
        return self._remote_jobs().listed(batch, limit)

    def job(self, guid: str) -> dict[str, Any]:
        """See Backend.job."""
        return self._remote_jobs().get(guid)

    def cancel_jobs(self, guids: list[str], batch: str | None) -> int:
        """See Backend.cancel_jobs: each job by ``DELETE /jobs/{guid}``.

        A batch's open jobs are found among its first 1,000 (all a server lists); a warning
        says so when there may be more.
        """
        from pixyproxy_cli.core.constants import MAX_JOBS_LISTED

        jobs = self._remote_jobs()
        wanted = list(guids)
        if batch is not None:
            listed = jobs.listed(batch, MAX_JOBS_LISTED)
            wanted += [job["job"] for job in listed if job["finished_at"] is None]
            if len(listed) == MAX_JOBS_LISTED:
                from pixyproxy_cli.commands import output

                output.warning(
                    f"a server lists a batch's first {MAX_JOBS_LISTED:,} jobs only: any after them "
                    "are left; cancel them with --local on the server's machine"
                )
        return jobs.cancel(wanted)

    def stored_file(self, prompts: PromptServiceInterface, guid: str) -> str | None:
        """See Backend.stored_file: a server's files stay on the server."""
        return None

    def image_extras(self, prompts: PromptServiceInterface, image: ImagePublic) -> dict[str, str]:
        """See Backend.image_extras: the file and the checks are on the server."""
        return {}

    def stored_provenance(self, prompts: PromptServiceInterface) -> ProvenanceService:
        """See Backend.stored_provenance: refused."""
        raise InputValidationError(
            "provenance checks a stored image on this machine's database: use --local, or "
            "fetch the image from the server and check the file"
        )

    def models(self) -> ModelListing:
        """See Backend.models: the server's key's."""
        return self.prompts({}).models()

    def usage(self, by: str, since: datetime | None) -> list[UsageLine]:
        """See Backend.usage: the caller's own, on the server."""
        return self.prompts({}).usage(by, since.date() if since else None)

    def login(self, username: str, password: str) -> SignedIn:
        """See Backend.login: the password is exchanged for a token, kept per server."""
        import socket

        from pixyproxy_cli.commands.signin import SignedIn

        name, where = self._session().login(
            username, password, f"pixyproxy CLI on {socket.gethostname()}"[:100]
        )
        return SignedIn(f"Logged in to {self.server} as {name}; the token is kept in {where}")

    def logout(self) -> tuple[str, str | None]:
        """See Backend.logout: the token is revoked on the server first."""
        who, problem = self._session().logout()
        message = (
            f"Logged out {who} from {self.server}" if who else f"Not logged in to {self.server}"
        )
        return message, problem

    def who(self) -> Who:
        """See Backend.who: the server, the user it names, the token and its keyring."""
        from pixyproxy_cli.commands.signin import Who

        who = self._session().who()
        return Who(
            f"{who.username} (class {who.class_key}) on {who.server}; token {who.token_id} "
            f"from {who.source}",
            dict(who.__dict__),
        )

    def close(self) -> None:
        """See Backend.close."""
        if self._prompts is not None:
            self._prompts.close()
            self._prompts = None
        if self._jobs is not None:
            self._jobs.close()
            self._jobs = None
