"""PNG plots for the stock MLflow UI (the Streamlit pages draw from the reports/*.json instead)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc(path: Path, curves: dict[str, dict]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, c in curves.items():
        ax.plot(c["fpr"], c["tpr"], label=f"{name} (Gini {c['gini']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out-of-time vintage")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def calibration(path: Path, tables: dict[str, list[dict]]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    top = 0.0
    for name, rows in tables.items():
        x = [r["predicted"] for r in rows]
        y = [r["observed"] for r in rows]
        top = max(top, *x, *y)
        ax.plot(x, y, "o-", label=name)
    ax.plot([0, top], [0, top], "k:", lw=0.8)
    ax.set(xlabel="predicted PD", ylabel="observed default rate", title="Calibration, out-of-time vintage")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def score_distribution(path: Path, scores: np.ndarray, y: np.ndarray) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(np.percentile(scores, 0.5), np.percentile(scores, 99.5), 40)
    ax.hist(scores[y == 0], bins=bins, alpha=0.6, density=True, label="repaid")
    ax.hist(scores[y == 1], bins=bins, alpha=0.6, density=True, label="defaulted")
    ax.set(xlabel="scorecard points", ylabel="density", title="Score distribution by outcome (out-of-time)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def psi_by_vintage(path: Path, psi: dict) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(psi["vintages"]))
    for name, values in psi["features"].items():
        ax.plot(x, values, lw=1, alpha=0.6, label=name)
    for name, values in psi["score"].items():
        ax.plot(x, values, lw=2.5, label=f"score ({name})")
    ax.axhline(0.10, color="orange", ls="--", lw=1)
    ax.axhline(0.25, color="red", ls="--", lw=1)
    ax.set_xticks(x, psi["vintages"], rotation=45, ha="right")
    ax.set(ylabel="PSI vs development sample", title="Population stability by vintage")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
