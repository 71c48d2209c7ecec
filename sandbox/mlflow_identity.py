"""Which MLflow user this process acts as when the store runs its own MLflow server.

MLflow's fluent API (`mlflow.start_run`, `mlflow.log_metric`, `register_model`, artifact downloads) and its
client read `MLFLOW_TRACKING_USERNAME`/`PASSWORD` from the environment on every request; the fluent calls
take no credentials, so a process has one MLflow identity at a time, held in `os.environ`. This module is
the one place that sets it: `ServerIdentity.act_as` (a workspace context's actor, with the credentials the
sandbox derives for them) and `as_user` (a block as another user, e.g. the sync account writing a
reviewer's sign-off tags). Credentials a user exported by hand are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .access import Actor
    from .store import Store

USERNAME_VAR, PASSWORD_VAR = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"


@contextmanager
def as_user(username: str | None, password: str | None) -> Iterator[None]:
    """Act as another MLflow user for a block; the previous values, or their absence, come back afterwards.
    None unsets a variable."""
    keys = (USERNAME_VAR, PASSWORD_VAR)
    saved = {k: os.environ.get(k) for k in keys}

    def put(values) -> None:
        for k, v in values:
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    put(zip(keys, (username, password)))
    try:
        yield
    finally:
        put(saved.items())


def own_server(store: Store) -> bool:
    """Server mode: SANDBOX_TRACKING_URI is set and this store holds the server's secrets."""
    from .server import SECRETS_FILE

    return bool(os.environ.get("SANDBOX_TRACKING_URI")) and (store.state / SECRETS_FILE).exists()


class ServerIdentity:
    """The process's MLflow identity, and whom the sandbox set it for (so it replaces only its own)."""

    def __init__(self) -> None:
        self.set_for: str | None = None

    def act_as(self, store: Store, actor: Actor) -> None:
        """Talk to the store's own server as `actor` (derived credentials). Credentials exported by hand are
        left alone; ones the sandbox set for another actor earlier in this process are replaced."""
        if not own_server(store):
            return
        current = os.environ.get(USERNAME_VAR)
        if current is None or (current == self.set_for and current != actor.name):
            from . import server

            server.use_credentials(store, actor)
            self.set_for = actor.name

    @contextmanager
    def sync_account(self, store: Store) -> Iterator[None]:
        """A block as the sync account (an MLflow admin): for writes the sandbox checked itself first, such as a
        reviewer's sign-off tags (reviewers hold READ on MLflow)."""
        if not own_server(store):
            yield
            return
        from . import server

        with as_user(server.ADMIN_USERNAME, server.load_secrets(store).admin_password):
            yield


IDENTITY = ServerIdentity()  # one per process: the environment it guards is one per process
