"""Private prompt requests: what an authenticated user may do with private images.

``PrivatePromptService`` is ``PromptService`` on behalf of one authenticated ``User``:
it may create private images (owned by that user), and sees public images plus that user's
own private ones. To everyone else a private image does not exist: reads of it raise the
same RecordNotFoundError as a GUID that was never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.public_prompts import PromptDependencies, PromptService

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User


class PrivatePromptService(PromptService):
    """Image requests made by an authenticated user, who owns what they make."""

    def __init__(self, dependencies: PromptDependencies, user: User) -> None:
        super().__init__(
            dependencies, Caller(viewer=user.username, local_admin=dependencies.local_admin)
        )
        self.user = user
