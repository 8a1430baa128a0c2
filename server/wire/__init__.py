"""Huddle's protocol layer over python-engineio / python-socketio: subclasses, no forks.

Private APIs of the libraries are listed in ``server/wire/private_api.py`` and guarded by
tests/test_wire_private_api.py; pyproject pins the versions they were written against.
"""
