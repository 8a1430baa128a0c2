"""Tier 2: the lobby protocol end to end over real sockets, on both store twins."""
