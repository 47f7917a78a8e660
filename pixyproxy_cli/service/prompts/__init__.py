"""The parts of the prompt services: making, reading and deleting images, and what they share.

``PromptService`` (``service/public_prompts.py``) and ``PrivatePromptService``
(``service/private_prompts.py``) are the one interface callers see; each part here does one
kind of work for a ``Caller`` (``service/access.py``), who decides what may be seen.
"""
