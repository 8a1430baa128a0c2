"""``python -m server.admin.password``: print the bcrypt hash for HUDDLE_ADMIN_PASSWORD_HASH.

Reads the password from the terminal (or one line of standard input when piped).
"""

from __future__ import annotations

import getpass
import sys

import bcrypt


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def main() -> None:
    if sys.stdin.isatty():
        password = getpass.getpass("admin password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password or len(password.encode()) > 72:
        print("the password must be 1 to 72 bytes long", file=sys.stderr)
        raise SystemExit(2)
    print(hash_password(password))


if __name__ == "__main__":
    main()
