"""The REST API (FastAPI), started by ``pixyproxy serve``; imported only by that command."""
