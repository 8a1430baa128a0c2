"""The messenger: chat rules (``rules``), the store-backed service (``service``) and user
presence across tabs and nodes (``presence``).

No Socket.IO or aiohttp here; ``namespaces/chat.py`` puts this on the wire.
"""
