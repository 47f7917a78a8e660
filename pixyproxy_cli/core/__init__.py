"""Models, settings and the exception family; imports nothing else of pixyproxy."""
