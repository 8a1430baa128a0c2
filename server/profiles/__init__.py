"""Test-server profiles (``--profile``): other servers built from the same engine and settings,
wired here at the top because they sit above the protocol layer (server/wire/) they configure."""
