"""Who is asking, and so which images they may see, make private, and delete.

Every rule of access to images lives here, once: the prompt services (local and remote),
the gallery and the REST routes ask a ``Caller`` rather than compare owners themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixyproxy_cli.core.exceptions import AuthenticationError, PermissionDeniedError


@dataclass(frozen=True)
class Caller:
    """The one asking: a user name (None when anonymous) and what the caller may do."""

    viewer: str | None = None
    """The user whose private images this caller may see; None when anonymous."""
    local_admin: bool = False
    """Whether the caller has the database itself (the CLI, not the server): it may delete
    images without an owner, and every image of a user being removed."""
    sees_everything: bool = False
    """The local admin's view for reading and exporting: every image, whoever's."""

    def owner_for(self, private: bool) -> str | None:
        """The owner recorded on an image this caller makes.

        A signed-in user owns what they make, public or private. Raises AuthenticationError
        for a private image asked for anonymously.
        """
        if self.viewer is not None:
            return self.viewer
        if private:
            raise AuthenticationError("Log in to create private images")
        return None

    def may_see(self, private: bool, owner: str | None) -> bool:
        """Whether an image with this visibility and owner exists for this caller."""
        return (
            self.sees_everything
            or not private
            or (self.viewer is not None and owner == self.viewer)
        )

    def check_local_admin(self, what: str) -> None:
        """Raise PermissionDeniedError unless the caller is the local admin."""
        if not self.local_admin:
            raise PermissionDeniedError(f"Only the local admin may {what}")

    def check_may_delete_any(self, guid: str) -> None:
        """Refuse an anonymous caller of the server, who may delete no image.

        Checked before any image is looked up, whatever ``guid`` names. Raises
        AuthenticationError.
        """
        if self.viewer is None and not self.local_admin:
            raise AuthenticationError(f"Log in as the owner of image {guid} to delete it")

    def check_may_delete(self, guid: str, owner: str | None) -> None:
        """The one rule of who may delete an image (which this caller may see).

        Its owner may; an image without an owner only the local admin (the CLI on the
        database); an anonymous caller of the server none. Raises AuthenticationError for
        an anonymous caller of the server, else PermissionDeniedError.
        """
        self.check_may_delete_any(guid)
        if owner is not None and owner == self.viewer:
            return
        if owner is None:
            if self.local_admin:
                return
            raise PermissionDeniedError(
                f"Image {guid} has no owner: only the local admin may delete it, with "
                "pixyproxy rm on a machine that reaches the database"
            )
        raise PermissionDeniedError(
            f"Image {guid} belongs to {owner}: only its owner may delete it"
        )

    def may_delete(self, guid: str, owner: str | None) -> bool:
        """Whether ``check_may_delete`` would let this caller delete the image."""
        try:
            self.check_may_delete(guid, owner)
        except (AuthenticationError, PermissionDeniedError):
            return False
        return True
