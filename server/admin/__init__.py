"""The server side of the Socket.IO Admin UI (``@socket.io/admin-ui`` 0.5), cluster-wide.

- ``auth``: basic auth against a bcrypt hash; the UI's session ids live in the store, so a
  session opened on one node is accepted by every node;
- ``local``: this node's sockets as the UI shows them, and commands applied to them;
- ``service``: what the ``/admin`` namespace calls: every node's sockets and commands through
  the cluster bus (server/cluster/bus.py), refused in read-only mode;
- ``feed``: live updates (sockets connected, upgraded, disconnected; rooms joined and left)
  and this node's ``server_stats`` every two seconds, emitted to ``/admin`` on every node.

Nothing here runs unless ``HUDDLE_ADMIN_USER`` and ``HUDDLE_ADMIN_PASSWORD_HASH`` are set.
"""
