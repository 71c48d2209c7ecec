"""PNG plots for the stock MLflow UI (the Streamlit pages draw their own from reports/*.json)."""

from __future__ import annotations


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curve(report: dict, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(report["recall"], report["precision"], lw=2)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title} (AP {report['average_precision']:.3f})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def feature_importance(importance: dict[str, float], title: str, top: int = 20):
    plt = _plt()
    items = sorted(importance.items(), key=lambda kv: kv[1])[-top:]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(items) + 1.2), dpi=100)
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set_xlabel("share of importance")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def calibration(report: dict, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect calibration")
    ax.plot(report["mean_predicted"], report["fraction_positive"], marker="o", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed fraud rate")
    ax.set_title(f"{title} (Brier {report['brier_score']:.4f})")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def close(fig) -> None:
    _plt().close(fig)
