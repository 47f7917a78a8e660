"""Wire the services from settings: database (and its units of work), store and provider.

The CLI and the REST server both build their services here and then talk only to them.
Nothing connects to the database until a service method runs, and the OpenAI SDK is not
imported until an image is generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.settings import Settings, load_settings
from pixyproxy_cli.data.db.context import DatabaseContext
from pixyproxy_cli.data.db.database import Database
from pixyproxy_cli.data.init import (
    ChosenProvider,
    choose_provider,
    create_database,
    create_image_store,
)
from pixyproxy_cli.data.keyring_stores.credentials import CredentialStore
from pixyproxy_cli.service.passwords import PasswordHasher
from pixyproxy_cli.service.private_prompts import PrivatePromptService
from pixyproxy_cli.service.public_prompts import PromptDependencies, PromptService
from pixyproxy_cli.service.sessions import SessionService
from pixyproxy_cli.service.users import UserService

if TYPE_CHECKING:
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.core.models import User
    from pixyproxy_cli.data.providers import ImageProviderInterface
    from pixyproxy_cli.service.admin import AdminService
    from pixyproxy_cli.service.interfaces import PromptServiceInterface
    from pixyproxy_cli.service.invalidations import Invalidations
    from pixyproxy_cli.service.jobs import JobService
    from pixyproxy_cli.service.limits import Limiter, LoginThrottle
    from pixyproxy_cli.service.models import ModelCatalog
    from pixyproxy_cli.service.provenance import ProvenanceService
    from pixyproxy_cli.service.tokens import TokenService
    from pixyproxy_cli.service.transfer import TransferService
    from pixyproxy_cli.service.usage import UsageService


@dataclass(frozen=True)
class Services:
    """The configured services, ready for a caller."""

    settings: Settings
    database: Database
    prompts: PromptService
    users: UserService
    sessions: SessionService
    provider: ChosenProvider
    """The image provider, chosen and built when first used (reading never uses it)."""

    @property
    def provider_notice(self) -> str | None:
        """Why the provider in use is not the one asked for (no API key), to tell the user.

        Raises ConfigurationError when the provider asked for cannot be had.
        """
        return self.provider.notice

    @property
    def provider_name(self) -> str:
        """The image provider in use: ``openai`` or ``placeholder``."""
        return self.prompts.dependencies.provider.name

    @property
    def image_model(self) -> str | None:
        """The model whose rules the provider's options follow (None: every model's)."""
        return self.prompts.dependencies.provider.model

    # Built on first use: most CLI commands need neither, and each costs start-up time.

    @cached_property
    def admin(self) -> AdminService:
        """Database set-up and diagnosis (``db init``, ``doctor``)."""
        from pixyproxy_cli.service.admin import AdminService

        dependencies = self.prompts.dependencies
        return AdminService(
            settings=self.settings,
            database=self.database,
            users=self.users,
            uow=dependencies.uow,
            store=dependencies.store,
            provider=self.provider,
        )

    @cached_property
    def tokens(self) -> TokenService:
        """API tokens (``POST /token``, ``Authorization: Bearer``)."""
        from datetime import timedelta

        from pixyproxy_cli.data.files.token_marks import TokenMarks
        from pixyproxy_cli.service.tokens import TokenService

        return TokenService(
            marks=TokenMarks(self.settings.data_dir / "tokens"),
            uow=self.prompts.dependencies.uow,
            lifetime=timedelta(days=self.settings.token_lifetime_days),
        )

    @cached_property
    def invalidations(self) -> Invalidations:
        """What every serve worker must forget, read from the database (``serve`` polls it).

        Tells this process's token memory and image cache.
        """
        from pixyproxy_cli.service.invalidations import IMAGE, TOKEN, Invalidations

        invalidations = Invalidations(self.prompts.dependencies.uow)
        invalidations.listen(TOKEN, self.tokens.forget_here)
        invalidations.listen(IMAGE, self.prompts.dependencies.cache.forget)
        return invalidations

    @cached_property
    def transfer(self) -> TransferService:
        """Export and import (``pixyproxy export`` / ``import``)."""
        from pixyproxy_cli.service.transfer import TransferService

        dependencies = self.prompts.dependencies
        return TransferService(store=dependencies.store, uow=dependencies.uow)

    @cached_property
    def image_options(self) -> ImageOptions:
        """The image options the settings ask for, as the defaults of a server's requests.

        A request's own go on top (``ImageOptions.overridden``), which drops the GIF
        settings for other formats.
        """
        from pixyproxy_cli.core.image_options import ImageOptions

        return ImageOptions.from_settings(self.settings, defaults=True)

    @cached_property
    def usage(self) -> UsageService:
        """Images and tokens summed (``pixyproxy usage``, ``GET /usage``), priced if set."""
        from pixyproxy_cli.service.usage import UsageService, parse_prices

        return UsageService(
            uow=self.prompts.dependencies.uow,
            prices=parse_prices(self.settings.image_prices),
            batch_price_factor=self.settings.batch_price_factor,
        )

    def provenance_for(self, prompts: PromptServiceInterface) -> ProvenanceService:
        """The provenance checks of the images ``prompts``' caller may see (and of files)."""
        from pixyproxy_cli.service.provenance import ProvenanceService

        dependencies = self.prompts.dependencies
        return ProvenanceService(
            prompts=prompts,
            provider=dependencies.provider,
            uow=dependencies.uow,
        )

    @cached_property
    def models(self) -> ModelCatalog:
        """The image models the configured API key may use (``pixyproxy models``)."""
        from pixyproxy_cli.service.models import ModelCatalog

        return ModelCatalog(
            self.prompts.dependencies.provider, self.settings.openai_model, self.provider_notice
        )

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        """Authentication that refuses a user name and client after too many failures."""
        from pixyproxy_cli.service.limits import LoginThrottle

        return LoginThrottle(
            self.users,
            self._limiter(
                "login", self.settings.login_max_failures, self.settings.login_failure_window
            ),
        )

    @cached_property
    def generation_limiter(self) -> Limiter:
        """The per-user (or per-address) limit on images generated through the API."""
        return self._limiter(
            "generate",
            self.settings.generate_rate_limit,
            self.settings.generate_rate_window,
            unit="images",
        )

    def _limiter(self, kind: str, limit: int, window: float, unit: str = "events") -> Limiter:
        from pixyproxy_cli.service.limits import Limiter

        return Limiter(
            kind=kind,
            limit=limit,
            window=window,
            uow=self.prompts.dependencies.uow,
            unit=unit,
        )

    def webhook_secret(self) -> str | None:
        """The OpenAI webhook's signing secret (the environment's, else the keyring's).

        None: webhooks are off. Read at each call, so a key set later takes effect.
        """
        from pixyproxy_cli.data.keyring_stores.secrets import webhook_secret

        return webhook_secret(self.settings)

    def readiness(self) -> dict[str, str]:
        """``ok``, or what is wrong, for the database and the image store (GET /readyz)."""
        from pixyproxy_cli.core.exceptions import PixyProxyException
        from pixyproxy_cli.service.transaction import transaction

        checks = {}
        try:
            with transaction(self.prompts.dependencies.uow):
                pass  # a transaction begun and committed: the database answers
            checks["database"] = "ok"
        except PixyProxyException as error:
            checks["database"] = error.message
        try:
            self.prompts.dependencies.store.check()
            checks["store"] = "ok"
        except PixyProxyException as error:
            checks["store"] = error.message
        return checks

    def prompts_for(self, user: User | None) -> PromptService:
        """The prompt service for ``user``: private requests when authenticated."""
        if user is None:
            return self.prompts
        return PrivatePromptService(self.prompts.dependencies, user)

    @cached_property
    def jobs(self) -> JobService:
        """The job queue and its workers, making images as the configured provider does."""
        from pixyproxy_cli.core.image_options import ImageOptions
        from pixyproxy_cli.service.jobs import JobService

        return JobService(
            self.prompts.dependencies,
            provider_timeout=self.settings.openai_timeout,
            default_options=ImageOptions.from_settings(self.settings),
            batch_poll=self.settings.batch_poll_seconds,
            estimate=self.usage.estimate,
        )

    def close(self) -> None:
        """Close the database's idle connections (for one-shot callers such as the CLI)."""
        self.database.close()


def build_services(
    settings: Settings | None = None,
    *,
    provider: ImageProviderInterface | None = None,
    database: Database | None = None,
    hasher: PasswordHasher | None = None,
    environ: Mapping[str, str] | None = None,
    local_admin: bool = False,
) -> Services:
    """Build the services for ``settings`` (loaded from the environment when omitted).

    ``provider`` defaults to the one the settings select (``data.init.choose_provider``:
    chosen and built when first used, refused then when it cannot be had);
    ``database`` to a new one (``data.init.create_database``) that the caller closes with
    ``Services.close()``. Raises
    ConfigurationError for invalid settings. ``environ`` (default ``os.environ``) is where
    PIXYPROXY_USERNAME / PIXYPROXY_PASSWORD are looked up. ``local_admin`` is for the
    CLI, which has the database itself: it may delete ownerless images (never the server).
    """
    settings = settings or load_settings()
    chosen = choose_provider(settings) if provider is None else ChosenProvider.given(provider)
    database = database or create_database(settings)
    uow = partial(DatabaseContext, database)
    store = create_image_store(settings)
    prompts = PromptService(
        PromptDependencies(
            uow=uow,
            make_provider=chosen,
            store=store,
            max_prompt_length=settings.max_prompt_length,
            local_admin=local_admin,
        )
    )
    user_service = UserService(uow=uow, hasher=hasher)
    return Services(
        settings=settings,
        database=database,
        prompts=prompts,
        users=user_service,
        sessions=SessionService(
            users=user_service, store=CredentialStore(settings.config_dir, environ)
        ),
        provider=chosen,
    )


def open_services(
    overrides: Mapping[str, Any] | None = None,
    provision: Provision = Provision.SCHEMA,
    *,
    local_admin: bool = False,
) -> Services:
    """Services with a database of their own, for a one-shot caller; ``close()`` them after.

    ``overrides`` are settings given on the command line; they win over the environment.
    ``provision`` says what the database may create when missing. Raises
    ConfigurationError for invalid settings. ``local_admin`` as for ``build_services``.
    """
    settings = load_settings(overrides)
    database = create_database(settings, provision)
    return build_services(settings, database=database, local_admin=local_admin)
