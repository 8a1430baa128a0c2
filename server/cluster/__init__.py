"""Several nodes acting as one server: the node registry with heartbeats and crash cleanup
(``registry``) and the Redis pub/sub fan-out of broadcasts (``fanout``).
"""
