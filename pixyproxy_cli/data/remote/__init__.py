"""The HTTP client of remote mode.

A pixyproxy server's API, and its error bodies mapped back to the PixyProxyException family.
"""
