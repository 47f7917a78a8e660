"""Repositories, DatabaseContext, image storage and providers: all I/O lives here."""
