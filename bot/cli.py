"""Administration commands: ``python -m bot.cli <command>``.

- ``create-staff-user --username X --role staff|admin [--password-stdin]``
- ``purge --older-than-days N``: delete conversations with no activity for N days (and
  staff sessions idle for a day)
- ``forget (--phone X | --conversation ID)``: delete one patient's data on request; the number
  is read as E.164 (``CLINIC_PHONE_REGION`` without a country code) and matched exactly

Each works on ``DATABASE_URL`` (or ``--database-url``) and writes an audit entry (actor ``cli``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta

from bot.settings import load_settings
from bot.storage import staff_repository as repo
from bot.storage.models import utcnow
from bot.storage.retention import conversations_of_phone, delete_conversations, purge_older_than
from bot.storage.staff_models import STAFF_ROLES, init_staff_tables
from bot.storage.store import ClinicStore

CLI_ACTOR = "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL from the settings")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-staff-user", help="create a staff account (prompts for the password)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=STAFF_ROLES, default="staff")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    purge = commands.add_parser("purge", help="delete conversations older than N days")
    purge.add_argument("--older-than-days", type=int, required=True)
    forget = commands.add_parser("forget", help="delete one patient's conversations and requests")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone")
    who.add_argument("--conversation")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat the password: "):
        raise ValueError("the passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 refused, 2 usage)."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    store = ClinicStore(args.database_url or settings.database_url)
    init_staff_tables(store.engine)
    try:
        with store.transaction() as session:
            if args.command == "create-staff-user":
                user = repo.create_user(session, args.username, _read_password(args.password_stdin), args.role)
                repo.audit(session, CLI_ACTOR, "user_create", target=user.username, detail=f"role={user.role}")
                print(f"created {user.role} account {user.username}")
            elif args.command == "purge":
                if args.older_than_days < 1:
                    raise ValueError("--older-than-days must be at least 1")
                deleted = purge_older_than(session, utcnow() - timedelta(days=args.older_than_days))
                repo.end_idle_sessions(session, utcnow() - timedelta(days=1))
                repo.audit(
                    session, CLI_ACTOR, "purge", detail=f"older_than_days={args.older_than_days} {deleted.describe()}"
                )
                print(f"deleted {deleted.describe()}")
            else:
                if args.conversation:
                    ids = [args.conversation]
                else:  # the whole number, compared exactly (never "ends with")
                    ids = conversations_of_phone(session, args.phone, settings.phone_region)
                deleted = delete_conversations(session, ids)
                target = "conversation" if args.conversation else "phone"
                repo.audit(session, CLI_ACTOR, "forget", target=f"by {target}", detail=deleted.describe())
                print(f"deleted {deleted.describe()}")
    except ValueError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
