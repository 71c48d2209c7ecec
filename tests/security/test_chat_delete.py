"""Finding 14: `chat delete` removed a document from the current index, but its chunks stayed in the older index
versions kept on disk (and the web app's upload copy stayed in the chat folder), so a deleted document's text
(a canary here) could still be read from the bank's files or brought back by pointing CURRENT at an old version.

Each test performs the attack: ingest a document with a canary, ingest more (new versions), delete it, then read
every byte of every file under the bank's chat folder (Parquet decoded too) and ask for the canary.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from sandbox import open_workspace

chat = pytest.importorskip("usecases.chat")
from usecases.chat import index  # noqa: E402

PASSWORD = "correct-horse-9"
BANK = "delete-test-bank"


@pytest.fixture(scope="module")
def ctx(store):
    store.create_bank(BANK)
    store.add_user("dee", "scientist", PASSWORD, bank=BANK)
    return open_workspace(BANK, store.actor("dee"), store)


def canary() -> str:
    return "QZV" + uuid.uuid4().hex[:10].upper()  # one token, so BM25's vocabulary would hold it too


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def holders(ctx, secret: str) -> list[str]:
    """Every file under the bank's chat folder whose bytes, or whose decoded Parquet rows, hold `secret`."""
    import pandas as pd

    found = []
    needle = secret.lower().encode()
    for p in sorted(ctx.path("chat").rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if needle in data.lower():
            found.append(str(p))
        elif p.suffix == ".parquet":
            decoded = pd.read_parquet(io.BytesIO(data)).to_json(orient="records", force_ascii=False)
            if secret.lower() in decoded.lower():
                found.append(f"{p} (decoded)")
    return found


def versions(ctx) -> list[str]:
    return sorted(p.name for p in ctx.path("chat", "index").glob("v[0-9]*") if p.is_dir())


def test_deleted_document_is_gone_from_every_kept_version_and_cannot_be_answered(ctx, tmp_path):
    secret = canary()
    doc = write(
        tmp_path, "vault.md", f"# Vault Procedure\n\nThe vault override code is {secret} for the night shift.\n"
    )
    added = chat.ingest(ctx, [doc]).added[0]
    assert secret in chat.ask(ctx, "What is the vault override code?", backend="extractive").answer
    chat.ingest(ctx, [write(tmp_path, "fees.md", "# Fee Schedule\n\nA statement copy costs HKD 30.\n")])
    chat.ingest(ctx, [write(tmp_path, "hours.md", "# Branch Hours\n\nBranches open at 9 am on weekdays.\n")])
    assert len(versions(ctx)) >= 3 and holders(ctx, secret)  # the attack's premise: old versions hold it

    out = chat.delete_document(ctx, added["doc_id"])

    assert holders(ctx, secret) == []
    assert secret not in chat.ask(ctx, "What is the vault override code?", backend="extractive").answer
    assert out["purged_versions"]
    root = ctx.path("chat", "index")
    kept = versions(ctx)
    assert len(kept) >= 2  # rollback still has somewhere to go
    for v in kept:  # every kept version is complete and verifies: rewritten with new checksums, not half-edited
        snap = index._load_version(root, v)
        assert added["doc_id"] not in {d["doc_id"] for d in snap.documents}
        assert added["doc_id"] not in set(snap.chunks["doc_id"])
        assert snap.index.ntotal == len(snap.chunks)
    older = index._load_version(root, kept[-2])
    assert "fees.md" in {d["name"] for d in older.documents}  # what the bank had then, minus the deleted document
    entry = [e for e in ctx.audit_entries() if e["event"] == "chat.delete"][-1]["data"]
    assert entry["purged_versions"] == out["purged_versions"]


def test_older_text_of_a_replaced_document_goes_with_it(ctx, tmp_path):
    old_secret, new_secret = canary(), canary()
    chat.ingest(ctx, [write(tmp_path / "a", "limits.md", f"# Limits\n\nThe old limit code is {old_secret}.\n")])
    report = chat.ingest(
        ctx, [write(tmp_path / "b", "limits.md", f"# Limits\n\nThe new limit code is {new_secret}.\n")]
    )
    assert report.replaced and holders(ctx, old_secret)  # the old text lives on in the previous version
    chat.delete_document(ctx, "limits.md")
    assert holders(ctx, old_secret) == [] and holders(ctx, new_secret) == []


def test_the_upload_copy_in_the_chat_folder_is_removed_with_the_document(ctx, tmp_path):
    """The web app stores uploads under chat/uploads before ingesting them; deleting the document removes it."""
    secret = canary()
    upload = ctx.path("chat", "uploads", "courier.md", create=True)
    upload.write_text(f"# Courier\n\nThe courier pickup code is {secret}.\n", encoding="utf-8")
    other = ctx.path("chat", "uploads", "notes", "courier.md", create=True)  # same name, other text: not this document
    other.write_text("# Courier\n\nCouriers come at noon.\n", encoding="utf-8")
    chat.ingest(ctx, [upload])
    chat.ingest(ctx, [write(tmp_path, "parking.md", "# Parking\n\nStaff parking is on level 2.\n")])
    out = chat.delete_document(ctx, "courier.md")
    assert out["removed_copies"] == 1 and not upload.exists() and other.exists()
    assert holders(ctx, secret) == []


def test_a_damaged_old_version_is_dropped_rather_than_left_holding_the_document(ctx, tmp_path):
    secret = canary()
    added = chat.ingest(ctx, [write(tmp_path, "keys.md", f"# Keys\n\nThe spare key tag is {secret}.\n")]).added[0]
    chat.ingest(ctx, [write(tmp_path, "lunch.md", "# Lunch\n\nLunch is from noon to 2 pm.\n")])
    root = ctx.path("chat", "index")
    damaged = versions(ctx)[-2]
    manifest = root / damaged / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"]["index.faiss"] = "0" * 64  # fails its checksum: cannot be read, so cannot be rewritten
    manifest.write_text(json.dumps(data))
    out = chat.delete_document(ctx, added["doc_id"])
    assert damaged in out["purged_versions"] and not (root / damaged).exists()
    assert holders(ctx, secret) == []
    assert chat.documents(ctx)  # the current version still loads
