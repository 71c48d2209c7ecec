"""The HKMA principles an evidence pack is read against, in our own words, and how a pack's contents answer each.

Three source documents (titles and dates cited; the wording below is our summary, not the HKMA's text):

- `hlp-2019`: HKMA, "High-level Principles on Artificial Intelligence", circular of 1 November 2019
  (twelve principles: governance; application design and development; ongoing monitoring and maintenance).
- `bdai-2019`: HKMA, "Consumer Protection in respect of Use of Big Data Analytics and Artificial Intelligence by
  Authorized Institutions", circular of 5 November 2019 (four areas: governance and accountability, fairness,
  transparency and disclosure, data privacy and protection).
- `genai-2024`: HKMA, "Consumer Protection in respect of Use of Generative Artificial Intelligence", circular of
  19 August 2024 (the 2019 areas extended to GenAI in customer-facing applications). Its rows are grouped by us
  (scope and accountability, human in the loop, output validation, robustness, fairness and opt-out, disclosure,
  data privacy); the injection row is our reading of its call for validated, reliable outputs.

Why status is computed, not typed: a row says "met" only when the pack holds the file that shows it (a gate
result, a fairness table, an approval in the ledger), so a reviewer can open the evidence link and check it.
What a pack cannot show (staff competence, customer notices, cyber controls) is "not addressed", said plainly.
The GenAI rows apply to the chat assistant only ("not applicable" to the fraud and risk models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MET, PARTLY, NOT_ADDRESSED, NOT_APPLICABLE = "met", "partly", "not addressed", "not applicable"
STATUSES = (MET, PARTLY, NOT_ADDRESSED, NOT_APPLICABLE)

SOURCES: dict[str, dict[str, str]] = {
    "hlp-2019": {"title": "High-level Principles on Artificial Intelligence", "issuer": "HKMA", "date": "2019-11-01"},
    "bdai-2019": {
        "title": "Consumer Protection in respect of Use of Big Data Analytics and Artificial Intelligence "
        "by Authorized Institutions",
        "issuer": "HKMA",
        "date": "2019-11-05",
    },
    "genai-2024": {
        "title": "Consumer Protection in respect of Use of Generative Artificial Intelligence",
        "issuer": "HKMA",
        "date": "2024-08-19",
    },
}


@dataclass(frozen=True)
class Principle:
    id: str
    source: str
    area: str
    name: str  # our words


PRINCIPLES: tuple[Principle, ...] = (
    Principle("hlp-1", "hlp-2019", "Governance", "Board and senior management answer for what the AI decides"),
    Principle("hlp-2", "hlp-2019", "Design and development", "The people building the model have the skills for it"),
    Principle("hlp-3", "hlp-2019", "Design and development", "Decisions can be explained to those they concern"),
    Principle("hlp-4", "hlp-2019", "Design and development", "Training data is of known, adequate quality"),
    Principle("hlp-5", "hlp-2019", "Design and development", "The model is validated and tested before use"),
    Principle("hlp-6", "hlp-2019", "Design and development", "What was done can be traced afterwards (audit trail)"),
    Principle("hlp-7", "hlp-2019", "Design and development", "Third-party components are known and overseen"),
    Principle(
        "hlp-8", "hlp-2019", "Design and development", "Outcomes are ethical and fair, without bias against groups"
    ),
    Principle("hlp-9", "hlp-2019", "Ongoing monitoring", "Performance and stability are reviewed over time"),
    Principle("hlp-10", "hlp-2019", "Ongoing monitoring", "Personal data is protected"),
    Principle("hlp-11", "hlp-2019", "Ongoing monitoring", "Cybersecurity controls protect the application"),
    Principle("hlp-12", "hlp-2019", "Ongoing monitoring", "A fallback exists if the model fails"),
    Principle(
        "bdai-1",
        "bdai-2019",
        "Governance and accountability",
        "Someone accountable signs off the model, after validation",
    ),
    Principle("bdai-2", "bdai-2019", "Fairness", "Customers get objective, consistent and fair outcomes"),
    Principle(
        "bdai-3", "bdai-2019", "Transparency and disclosure", "How the model works is documented and can be disclosed"
    ),
    Principle("bdai-4", "bdai-2019", "Data privacy and protection", "Customer data is kept safe and used sparingly"),
    Principle(
        "genai-1",
        "genai-2024",
        "Governance and accountability",
        "The customer-facing GenAI use has a defined scope and an accountable owner",
    ),
    Principle(
        "genai-2", "genai-2024", "Governance and accountability", "A human stays in the loop while the GenAI use is new"
    ),
    Principle(
        "genai-3",
        "genai-2024",
        "Governance and accountability",
        "Answers are checked for accuracy (hallucination controls)",
    ),
    Principle(
        "genai-4",
        "genai-2024",
        "Governance and accountability",
        "The assistant resists manipulated inputs (prompt injection controls)",
    ),
    Principle(
        "genai-5", "genai-2024", "Fairness", "Answers do not disadvantage groups; customers may opt out to a human"
    ),
    Principle(
        "genai-6",
        "genai-2024",
        "Transparency and disclosure",
        "Customers are told they are dealing with GenAI and its limits",
    ),
    Principle(
        "genai-7", "genai-2024", "Data privacy and protection", "Personal data in prompts and answers is protected"
    ),
)

Row = dict[str, Any]
Rule = Callable[[dict], tuple[str, list[str], str]]


def _approved(f: dict) -> bool:
    return bool(f.get("review")) and f["review"].get("decision", f["review"].get("status")) == "approved"


def _gates(f: dict) -> tuple[str, list[str], str]:
    gates = f.get("gates") or []
    if not gates:
        return NOT_ADDRESSED, [], "no gate results are recorded for this model"
    failing = [g["name"] for g in gates if not g.get("passed")]
    if failing:
        return PARTLY, ["gates.json"], f"gates evaluated, but {', '.join(failing)} failed"
    return MET, ["gates.json"], f"all {len(gates)} gates passed on held-out data"


def _accountability(f: dict) -> tuple[str, list[str], str]:
    """hlp-1 is about the bank's board and senior management: the pack shows the named chain of people, not them."""
    status, evidence, why = _governance(f)
    return (
        (PARTLY if status == MET else status),
        evidence,
        why + "; the bank's board-level oversight is not in the pack",
    )


def _governance(f: dict) -> tuple[str, list[str], str]:
    ev = ["review_history.json", "audit/entries.jsonl"]
    who = f.get("trained_by") or "unrecorded"
    if _approved(f):
        return MET, ev, f"trained by {who}, approved by reviewer {f['review'].get('by')} (ledger)"
    if f.get("review"):
        return PARTLY, ev, f"trained by {who}; the latest review is {f['review'].get('decision', '')}, not an approval"
    return PARTLY, ev, f"trained by {who}; no reviewer decision recorded yet"


def _explain(f: dict) -> tuple[str, list[str], str]:
    uc, files = f["usecase"], f["files"]
    if uc == "risk" and "reports/scorecard.json" in files:
        ok = f.get("monotonic")
        ev = ["reports/scorecard.json", "reports/monotonicity.json", "model_card.md"]
        if ok:
            return (
                MET,
                ev,
                "points scorecard beside a monotone XGBoost model; monotone constraints hold; reason codes per decision",
            )
        return PARTLY, ev, "scorecard present, but the monotonicity check did not hold for every feature"
    if uc == "fraud" and "reports/feature_importance.json" in files:
        return (
            PARTLY,
            ["reports/feature_importance.json", "model_card.md"],
            "global feature importance only; no per-alert explanation is in the pack",
        )
    if uc == "chat" and f.get("chat_metrics", {}).get("citation") is not None:
        return (
            MET,
            ["reports/eval.json", "model_card.md"],
            "every answer cites its source passages; citation quality is measured",
        )
    return NOT_ADDRESSED, [], "the pack holds no explanation artefact for this model"


def _data_quality(f: dict) -> tuple[str, list[str], str]:
    if not f.get("data_hash"):
        return NOT_ADDRESSED, ["run.json"], "the run records no data hash"
    if f.get("psi_flags") is not None:
        flags = f["psi_flags"]
        if flags:
            return PARTLY, ["run.json", "tables/stability.csv"], f"data hashed; shifted features: {', '.join(flags)}"
        return (
            PARTLY,
            ["run.json", "tables/stability.csv"],
            (
                "data hashed and seeded, no feature shifted beyond its PSI "
                "bar; no completeness or validity report in the pack"
            ),
        )
    return PARTLY, ["run.json"], "data hashed and seeded; no data-quality report in the pack"


def _auditability(f: dict) -> tuple[str, list[str], str]:
    n = f.get("audit_entries", 0)
    if not n:
        return NOT_ADDRESSED, ["audit/entries.jsonl"], "no audit entries found for this run"
    if not f.get("audit_chain_ok", False):
        return (
            PARTLY,
            ["audit/entries.jsonl"],
            f"{n} entries, but the bank's chain did not verify when the pack was built",
        )
    return (
        MET,
        ["audit/entries.jsonl", "manifest.json"],
        f"{n} hash-chained, keyed audit entries; chain verified at build",
    )


def _third_party(f: dict) -> tuple[str, list[str], str]:
    libs = f.get("library_versions") or {}
    if not libs:
        return NOT_ADDRESSED, ["run.json"], "the run records no library versions"
    return (
        PARTLY,
        ["run.json", "manifest.json"],
        (
            f"{len(libs)} open-source libraries pinned by version; "
            "vendor due diligence is the bank's and is not in the pack"
        ),
    )


def _fairness(f: dict) -> tuple[str, list[str], str]:
    if f.get("fairness_flags") is None:
        return NOT_ADDRESSED, [], f"no fairness assessment is part of the {f['usecase']} evaluation"
    ev = ["tables/fairness.csv", "reports/fairness.json"]
    if f["fairness_flags"]:
        return PARTLY, ev, f"assessed by sex and age band; flags: {', '.join(f['fairness_flags'])}"
    return MET, ev, "approval and error rates compared by sex and age band; no flag"


def _monitoring(f: dict) -> tuple[str, list[str], str]:
    uc, files = f["usecase"], f["files"]
    if uc == "risk" and "tables/stability.csv" in files:
        flags = f.get("score_psi_flags") or []
        if flags:
            return PARTLY, ["tables/stability.csv"], f"score PSI by vintage is tracked; shifted: {', '.join(flags)}"
        return MET, ["tables/stability.csv"], "PSI of every feature and of the score by vintage, out of time"
    if uc == "fraud" and "reports/folds.json" in files:
        return (
            PARTLY,
            ["reports/folds.json"],
            "performance over successive time windows; no live monitoring in the pack",
        )
    return NOT_ADDRESSED, [], "no monitoring report over time is in the pack"


def _privacy(f: dict) -> tuple[str, list[str], str]:
    return (
        PARTLY,
        ["manifest.json"],
        (
            "the pack holds aggregates only: no customer rows, documents or model files "
            "(every file is listed in the manifest); the bank's own data handling is not "
            "in the pack"
        ),
    )


def _cyber(f: dict) -> tuple[str, list[str], str]:
    return NOT_ADDRESSED, [], "platform controls are described in docs/security.md, not evidenced per model"


def _contingency(f: dict) -> tuple[str, list[str], str]:
    if f.get("previous_version"):
        return MET, ["review_history.json"], f"version {f['previous_version']} is kept as the one-step rollback"
    if f.get("stage") == "champion":
        return PARTLY, ["review_history.json"], "champion without a previous version to roll back to"
    return NOT_ADDRESSED, [], "no rollback version is recorded"


def _transparency(f: dict) -> tuple[str, list[str], str]:
    if "model_card.md" not in f["files"]:
        return NOT_ADDRESSED, [], "no model card"
    return (
        PARTLY,
        ["model_card.md"],
        "model card documents data, method and limits; customer notices are not in the pack",
    )


def _chat_metric(key: str, label: str, bar: float) -> Rule:
    def rule(f: dict) -> tuple[str, list[str], str]:
        value = f.get("chat_metrics", {}).get(key)
        if value is None:
            return NOT_ADDRESSED, [], f"{label} is not measured in this evaluation"
        if value >= bar:
            return MET, ["reports/eval.json"], f"{label} {value:.3f} (bar {bar:.2f})"
        return PARTLY, ["reports/eval.json"], f"{label} {value:.3f} is below the bar {bar:.2f}"

    return rule


def _genai_scope(f: dict) -> tuple[str, list[str], str]:
    refusal = f.get("chat_metrics", {}).get("refusal")
    if refusal is None:
        return NOT_ADDRESSED, [], "no refusal measurement: the scope of the assistant is not evidenced"
    status = MET if refusal >= 0.95 and _approved(f) else PARTLY
    who = "approved by a reviewer" if _approved(f) else "not yet approved"
    return (
        status,
        ["reports/eval.json", "review_history.json"],
        f"answers only from the bank's documents, refuses outside them (refusal accuracy {refusal:.3f}); {who}",
    )


def _human(f: dict) -> tuple[str, list[str], str]:
    if _approved(f):
        return (
            PARTLY,
            ["review_history.json"],
            "a reviewer approved the evaluation; per-answer human review is not evidenced",
        )
    return NOT_ADDRESSED, ["review_history.json"], "no human sign-off recorded"


def _signed_off_after_validation(f: dict) -> tuple[str, list[str], str]:
    gate_status, _, gate_why = _gates(f)
    status, evidence, why = _governance(f)
    if gate_status == MET:
        return status, ["gates.json", *evidence], f"{why}; {gate_why}"
    return PARTLY, ["gates.json", *evidence], f"{why}; {gate_why}"


def _nothing(what: str) -> Rule:
    return lambda f: (NOT_ADDRESSED, [], what)


RULES: dict[str, Rule] = {
    "hlp-1": _accountability,
    "hlp-2": _nothing("the pack names who built the model, not their training or experience"),
    "hlp-3": _explain,
    "hlp-4": _data_quality,
    "hlp-5": _gates,
    "hlp-6": _auditability,
    "hlp-7": _third_party,
    "hlp-8": _fairness,
    "hlp-9": _monitoring,
    "hlp-10": _privacy,
    "hlp-11": _cyber,
    "hlp-12": _contingency,
    "bdai-1": lambda f: _signed_off_after_validation(f),
    "bdai-2": _fairness,
    "bdai-3": _transparency,
    "bdai-4": _privacy,
    "genai-1": _genai_scope,
    "genai-2": _human,
    "genai-3": _chat_metric("correctness", "answer correctness", 0.90),
    "genai-4": _chat_metric("injection_resistance", "injection resistance", 0.95),
    "genai-5": _nothing("no bias test of answers and no opt-out to a human is evidenced"),
    "genai-6": _nothing("customer-facing disclosure is the bank's channel design; not in the pack"),
    "genai-7": lambda f: (
        PARTLY,
        ["audit/entries.jsonl"],
        "questions and answers are kept PII-redacted in the audit "
        "trail; the data flows of a live channel are not in the pack",
    ),
}


def assess(facts: dict) -> list[Row]:
    """One row per principle: what in the pack addresses it (pack-relative links), its status and why.

    `facts` describes the pack (sandbox/evidence.py builds it): usecase, files, gates, review, stage, ...
    """
    rows = []
    for p in PRINCIPLES:
        if p.source == "genai-2024" and facts["usecase"] != "chat":
            status, evidence, why = NOT_APPLICABLE, [], "not a generative AI application facing customers"
        else:
            status, evidence, why = RULES[p.id](facts)
        evidence = [e for e in evidence if e.split("#")[0] in facts["files"]]
        rows.append(
            {
                "id": p.id,
                "source": p.source,
                "area": p.area,
                "principle": p.name,
                "status": status,
                "evidence": evidence,
                "why": why,
            }
        )
    return rows


def sources() -> list[dict[str, str]]:
    """The source documents, cited by title, issuer and date."""
    return [{"id": k, **v} for k, v in SOURCES.items()]
