"""What an evidence pack takes from an AI-vs-AI run: aggregates, never the red team's quoted examples."""

from __future__ import annotations

from sandbox import evidence_assurance as ea


def test_the_red_team_section_keeps_rates_and_leaks_but_not_the_worst_examples():
    kind = ea.KINDS["chat"]
    assert "worst" not in kind.keep and {"by_category", "canary_leaks", "pii_leaks"} <= set(kind.keep)
    report = {
        "overall": {"extractive": {"attacks": 600, "successes": 2, "attack_success_rate": 0.0033}},
        "by_category": {"extractive": {"cross_bank": 0.0, "just_guess": 0.02}},
        "canary_leaks": 0,
        "pii_leaks": 0,
    }
    tables = {heading: rows for heading, _, rows in ea.rows(kind.name, report)}
    assert tables["Red team of the assistant"] == (("extractive", 600, 2, 0.0033),)
    assert ("extractive", "just_guess", 0.02) in tables["Success rate by category"]
    assert tables["Leaks"] == ((0, 0),)


def test_a_fraud_campaign_counts_only_for_the_version_it_attacked():
    assert ea.KINDS["fraud"].per_version and not ea.KINDS["chat"].per_version
    assert "found" in ea.KINDS["fraud"].keep and "curves" not in ea.KINDS["fraud"].keep
