"""Huddle's protocol layer over python-engineio / python-socketio: subclasses, no forks.

Private APIs of the libraries are listed in ``server/private_api.py`` (checked at start-up, and
by tests/test_private_api.py); pyproject pins the versions they were written against.
"""
