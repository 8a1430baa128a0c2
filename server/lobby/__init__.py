"""Game lobbies: the rules of a room (``rules``) and the store-backed service (``service``).

No Socket.IO or aiohttp here; ``namespaces/lobby.py`` puts this on the wire.
"""
