"""Transactional services shared by the CLI and the REST server."""
