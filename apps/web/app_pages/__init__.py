"""The app's pages, each gated by one action of `sandbox.access`.

The navigation lists a page only when `auth.allowed(actor, action)`; the page
itself calls `auth.gate(action, title)` first thing, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    action: str
    section: str

    @property
    def url_path(self) -> str:
        return self.file.removesuffix(".py")


PAGES: tuple[PageSpec, ...] = (
    # bank data scientists, in their own bank
    PageSpec("workspace.py", "Workspace", ":material/home:", "data.read", "Bank lab"),
    PageSpec("fraud_lab.py", "Fraud lab", ":material/credit_card:", "fraud.train", "Bank lab"),
    PageSpec("risk_lab.py", "Risk lab", ":material/query_stats:", "risk.train", "Bank lab"),
    PageSpec("chat.py", "Chat", ":material/chat:", "chat.ask", "Bank lab"),
    PageSpec("experiments.py", "Experiments", ":material/science:", "runs.write", "Bank lab"),
    PageSpec("redteam.py", "Red team", ":material/shield:", "assure.chat_redteam", "Bank lab"),
    PageSpec("fraud_attack.py", "Fraud ring", ":material/swords:", "assure.fraud_attack", "Bank lab"),
    # HKMA reviewers, across banks, evidence only
    PageSpec("console_overview.py", "All banks", ":material/dashboard:", "review.sign", "HKMA console"),
    PageSpec("console_runs.py", "Experiment log", ":material/search:", "review.sign", "HKMA console"),
    PageSpec("console_audit.py", "Audit trail", ":material/verified_user:", "review.sign", "HKMA console"),
    PageSpec("console_review.py", "Review and sign-off", ":material/approval:", "review.sign", "HKMA console"),
    PageSpec("console_cohort.py", "Cohort and evidence packs", ":material/table_view:", "review.sign", "HKMA console"),
    # platform admins: banks, users, quotas; no bank data
    PageSpec("admin.py", "Banks, users, quotas", ":material/admin_panel_settings:", "user.add", "Admin"),
)

BY_FILE = {p.file: p for p in PAGES}


def enter(file: str):
    """First line of a page: the signed-in actor allowed to use it, or a refusal that stops the page."""
    from apps.web import auth

    spec = BY_FILE[file]
    return auth.gate(spec.action, spec.title)
