"""Wire the services from settings: database, repositories, store and provider.

The CLI and the REST server both call ``build_services`` and then only talk to the
services it returns. Nothing connects to the database until a service method runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from pixyproxy_cli.core.models import User
from pixyproxy_cli.core.settings import Settings, load_settings
from pixyproxy_cli.data.context import DatabaseContext
from pixyproxy_cli.data.database import Database
from pixyproxy_cli.data.init import create_image_store, create_repositories, get_database
from pixyproxy_cli.data.providers import ImageProviderInterface
from pixyproxy_cli.service.passwords import PasswordHasher
from pixyproxy_cli.service.private_prompts import PrivatePromptService
from pixyproxy_cli.service.public_prompts import PromptDependencies, PromptService
from pixyproxy_cli.service.users import UserService


@dataclass(frozen=True)
class Services:
    """The configured services, ready for a caller."""

    settings: Settings
    database: Database
    prompts: PromptService
    users: UserService

    def prompts_for(self, user: User | None) -> PromptService:
        """The prompt service for ``user``: private requests when authenticated."""
        if user is None:
            return self.prompts
        return PrivatePromptService(self.prompts.dependencies, user)


def build_services(
    settings: Settings | None = None,
    *,
    provider: ImageProviderInterface,
    database: Database | None = None,
    hasher: PasswordHasher | None = None,
) -> Services:
    """Build the services for ``settings`` (loaded from the environment when omitted).

    ``database`` defaults to the process-wide one from ``data.init.get_database``.
    Raises ConfigurationError for invalid settings.
    """
    settings = settings or load_settings()
    database = database or get_database(settings)
    images, users = create_repositories(database)
    context_factory = partial(DatabaseContext, database)
    prompts = PromptService(
        PromptDependencies(
            images=images,
            context_factory=context_factory,
            provider=provider,
            store=create_image_store(settings),
            max_prompt_length=settings.max_prompt_length,
        )
    )
    user_service = UserService(users=users, context_factory=context_factory, hasher=hasher)
    return Services(settings=settings, database=database, prompts=prompts, users=user_service)
