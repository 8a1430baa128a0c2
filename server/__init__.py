"""Huddle: a realtime Socket.IO server for game lobbies and chat."""
