"""The two charts the overview page embeds, as PNG files: pass rate per question and the grade histogram
(matplotlib's Agg canvas, no pyplot state; imported only when a chart is drawn). The overview shows the pass-rate
chart as SVG, whose bars link to each question's section of what the class got wrong."""

from __future__ import annotations

import io
import re
from pathlib import Path

from grader.report.cells import several_notebooks
from grader.report.stats import ClassStats
from grader.report.wording import format_number


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path, keep: bool = False) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    if not keep:
        figure.clear()
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _empty_message(axes, text: str) -> None:
    """A chart with nothing to plot says why, in the middle of its axes."""
    axes.text(
        0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=11, color="#555555"
    )


def warm_up() -> None:
    """Import matplotlib and load its fonts and both backends (most of a second the first time): called while
    the class is graded, so that drawing the charts at the end of the run costs only the drawing."""
    figure = _new_figure(1.0, 1.0)
    figure.add_subplot().set_title("Taxa de acerto — média", fontsize=12)
    figure.savefig(io.BytesIO(), format="png")
    figure.savefig(io.StringIO(), format="svg")
    figure.clear()


def pass_rate_charts(
    assignment: str, stats: ClassStats, path: Path, links: dict[tuple[str, str], str]
) -> tuple[bytes, str]:
    """taxa_acerto.png, the share of counted students who passed each automatic cell, and the same chart as SVG
    markup to put inside index.html, each bar and its label a link (`links`: cell key -> URL, say "#causas-…",
    the question's section): a chart in an <img> cannot link. The PNG's bytes and the SVG's text, from one
    figure built once."""
    from matplotlib import rc_context

    figure = _pass_rate_figure(assignment, stats, links)
    png = _save(figure, path, keep=True)
    # (laid out again at the SVG's 72 dpi: text measured at the PNG's 110 dpi ends up clipped at the edge)
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: searchable, and read by screen readers
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    figure.clear()
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration nor DOCTYPE inside HTML
    text = text.replace(' target="_blank"', "")  # matplotlib opens links in a new tab: stay on the page
    # scales with the page (its viewBox keeps the proportions)
    return png, re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart"', text, count=1)


def _pass_rate_figure(assignment: str, stats: ClassStats, links: dict[tuple[str, str], str]):
    rates = stats.pass_rates
    figure = _new_figure(8.0, max(2.6, 0.55 * len(rates) + 1.6))
    axes = figure.add_subplot()
    axes.set_title(f"Taxa de acerto por questão — {assignment}", fontsize=12)
    out_of = rates[0][2] if rates else 0
    if not rates or out_of == 0:
        _empty_message(axes, "sem questões automáticas ou sem alunos corrigidos")
        axes.set_axis_off()
        return figure
    several = several_notebooks([info for info, _, _ in rates])
    labels = [
        _shorten(f"{info.notebook}: " * several + (info.title or info.grade_id), 38) for info, _, _ in rates
    ]
    percents = [100.0 * passed / total for _, passed, total in rates]
    positions = list(range(len(rates)))
    colors = ["#2e7d32" if p >= 70 else "#f9a825" if p >= 40 else "#c62828" for p in percents]
    bars = axes.barh(positions, percents, color=colors, height=0.6)
    axes.set_yticks(positions, labels, fontsize=10)
    for bar, label, (info, _, _) in zip(bars, axes.get_yticklabels(), rates, strict=True):
        url = links.get(info.key)
        if url:
            bar.set_url(url)
            label.set_url(url)
    axes.invert_yaxis()  # first cell on top, as in the notebook
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 20, 40, 60, 80, 100])
    axes.set_xlabel(f"alunos corrigidos que acertaram (%) — {out_of} aluno(s)")
    for y, percent, (info, passed, total) in zip(positions, percents, rates, strict=True):
        text = axes.text(percent + 1.5, y, f"{percent:.0f}% ({passed}/{total})", va="center", fontsize=9)
        text.set_url(links.get(info.key))
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def histogram_chart(assignment: str, max_score: float, stats: ClassStats, path: Path) -> bytes:
    """histograma.png: the counted students' grades, with the maximum and the mean; the PNG's bytes."""
    figure = _new_figure(8.0, 4.0)
    axes = figure.add_subplot()
    axes.set_title(f"Distribuição das notas — {assignment}", fontsize=12)
    top = max(float(max_score), max(stats.scores, default=0.0), 1.0)
    if float(max_score).is_integer() and top <= 30:
        edges = [x - 0.5 for x in range(int(top) + 2)]
    else:
        edges = [top * i / 10 for i in range(11)]
    if stats.scores:
        counts, _, _ = axes.hist(stats.scores, bins=edges, color="#1565c0", edgecolor="white", zorder=2)
        axes.set_ylim(0, max(counts) * 1.3 + 0.5)  # room for the legend above the bars
    else:
        _empty_message(axes, "nenhum aluno corrigido")
    axes.axvline(
        float(max_score),
        color="#c62828",
        linestyle="--",
        linewidth=1.8,
        zorder=3,
        label=f"nota máxima = {format_number(max_score)}",
    )
    if stats.mean is not None:
        axes.axvline(
            stats.mean,
            color="#2e7d32",
            linestyle=":",
            linewidth=2.0,
            zorder=3,
            label=f"média = {format_number(stats.mean)}",
        )
    axes.set_xlim(edges[0], max(edges[-1], float(max_score)) + 0.05 * top)
    axes.set_xlabel("nota")
    axes.set_ylabel("número de alunos")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper left", frameon=False)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(figure, path)
