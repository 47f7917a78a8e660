"""What pixyproxy keeps in the OS keyring.

A user's login, the server tokens of remote mode, and secrets such as the OpenAI API key,
each with an environment override.
"""
