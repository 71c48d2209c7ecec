"""Finding 11: a name with a trailing newline (or any other character outside the rule) is refused.

`re.match(r"^...$")` accepts "gamma-bank\\n" because `$` matches before a final newline; an admin named
"rita\\n" then prints exactly like the reviewer "rita". Every face validates with `fullmatch`.
"""

from __future__ import annotations

import os

import pytest

from sandbox import Store
from sandbox.errors import InvalidInput
from sandbox.store import validate_bank_id, validate_user_name

BAD_BANKS = ["gamma-bank\n", "gamma-bank\r\n", "gamma-bank\n\n", "\ngamma-bank", "gamma bank", "Gamma-bank"]
BAD_USERS = ["rita\n", "rita\r", "rita\n\n", "ri\nta", "rita ", "Rita"]


@pytest.fixture
def fresh(tmp_path):
    store = Store(tmp_path)
    store.init("root", "admin-pass-1")
    store.create_bank("harbour-bank")
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path), SANDBOX_USER="root", SANDBOX_PASSWORD="admin-pass-1")
    return store, env


@pytest.mark.parametrize("bank", BAD_BANKS)
def test_validate_bank_id_refuses_trailing_newline_and_look_alikes(bank):
    with pytest.raises(InvalidInput, match="bank"):
        validate_bank_id(bank)


@pytest.mark.parametrize("name", BAD_USERS)
def test_validate_user_name_refuses_trailing_newline_and_look_alikes(name):
    with pytest.raises(InvalidInput, match="user"):
        validate_user_name(name)


def test_store_api_refuses_a_bank_and_an_admin_named_with_a_newline(fresh):
    store, _ = fresh
    with pytest.raises(InvalidInput):
        store.create_bank("gamma-bank\n")
    with pytest.raises(InvalidInput):
        store.add_user("rita\n", "admin", "rita-pass-12")
    assert set(store.banks()) == {"harbour-bank"}
    assert set(store.users()) == {"root"}
    assert validate_bank_id("gamma-bank") == "gamma-bank" and validate_user_name("rita") == "rita"


def test_cli_refuses_bank_create_with_a_trailing_newline(fresh, sandbox_cli):
    store, env = fresh
    p = sandbox_cli(env, "bank", "create", "gamma-bank\n")
    assert p.returncode == InvalidInput.exit_code and "Traceback" not in p.stderr, p.stderr
    assert "not a valid bank id" in p.stderr
    assert set(store.banks()) == {"harbour-bank"}


def test_cli_refuses_an_admin_whose_name_prints_like_a_reviewer(fresh, sandbox_cli):
    store, env = fresh
    p = sandbox_cli(env, "user", "add", "rita\n", "--role", "admin", "--password-stdin", stdin="rita-pass-12\n")
    assert p.returncode == InvalidInput.exit_code and "Traceback" not in p.stderr, p.stderr
    assert "not a valid user name" in p.stderr
    assert set(store.users()) == {"root"}
