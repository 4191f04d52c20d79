"""Residual connections and batch normalisation, read back: figures, table and findings.

``gradient_flow_arch`` measures (per-layer weight-gradient norms and activation spreads of the
four architectures, and the lesion rows); this module turns those rows into the report's
subsection of gradient_flow: what each of the three claims of the articles comes to —
batch norm "stabilises the distribution of activations", residual connections "mitigate
vanishing gradients", ResNet is "a way of fusing the weights of different layers into one
model". It reads only the rows and the config.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .gradient_flow_arch import ARCH_LABELS, ARCHS

NAME = "gradient_flow_arch"
TITLE = "Residual connections and batch normalisation"
QUESTION = ("Does batch normalisation stabilise the activations, do residual connections "
            "mitigate vanishing gradients, and does a ResNet fuse its layers' weights into one "
            "model? Plain, residual, batch-norm and residual + batch-norm networks up to depth "
            "100, every gradient by reverse mode.")
INIT_COLORS = {"naive": "#7b3294", "xavier": "#2c7bb6", "he": "#d7191c"}
ARCH_COLORS = {"plain": "#404040", "residual": "#e66101", "batchnorm": "#1a9641",
               "resbn": "#2c7bb6"}


def _rows(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    kinds = df["kind"] if "kind" in df else pd.Series("flow", index=df.index)
    return df[(kinds == kind) & (df["outcome"] == "ok")]


def geomean(df: pd.DataFrame, kind: str, column: str) -> dict:
    """{(arch, activation, init, depth): geometric mean over seeds of the per-layer lists}
    (a zero or non-finite entry stays zero, inf or nan in the mean)."""
    out = {}
    rows = _rows(df, kind)
    for key, group in rows.groupby(["arch", "activation", "init", "depth"]):
        stacked = np.array([np.asarray(v, dtype=float) for v in group[column]])
        with np.errstate(all="ignore"):
            out[(key[0], key[1], key[2], int(key[3]))] = np.exp(np.mean(np.log(stacked), 0))
    return out


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _decade(ax) -> None:
    """Show at least one decade on a log axis, so a flat line looks flat, not like noise."""
    low, high = ax.get_ylim()
    if high / low < 10:
        mid = np.sqrt(low * high)
        ax.set_ylim(mid / np.sqrt(10), mid * np.sqrt(10))


def _panel_figure(values: dict, config: dict, depth: int, ylabel: str, title: str,
                  path: Path, xlabel: str) -> Path:
    """Rows: activations; columns: architectures; one line per initialisation."""
    from matplotlib.ticker import MaxNLocator

    from ..lab import plotting

    acts, archs = config["activations"], [a for a in ARCHS if a in config["archs"]]
    fig, axes = plotting.figure(3.3 * len(archs), 2.7 * len(acts), ncols=len(archs),
                                nrows=len(acts), sharex=True)
    axes = np.array(axes).reshape(len(acts), len(archs))
    for i, act in enumerate(acts):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            for init in config["inits"]:
                v = values.get((arch, act, init, depth))
                if v is not None:
                    ax.plot(np.arange(1, len(v) + 1), _finite(v), lw=1.3,
                            color=INIT_COLORS.get(init), label=init)
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            _decade(ax)
            ax.set_title(f"{ARCH_LABELS[arch]}, {act}", fontsize=9.5)
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=9)
            if i == len(acts) - 1:
                ax.set_xlabel(xlabel, fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9,
               bbox_to_anchor=(0.5, 1.0), title=title, title_fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return plotting.save(fig, path)


def lesion_curves(df: pd.DataFrame, column: str) -> dict:
    """{(arch, activation, init): mean over seeds of the lesion list ``column``}."""
    out = {}
    for key, group in _rows(df, "lesion").groupby(["arch", "activation", "init"]):
        stacked = np.array([np.asarray(v, dtype=float) for v in group[column]])
        out[key] = np.nanmean(stacked, axis=0) if np.isfinite(stacked).any() else stacked[0]
    return out


def _lesion_figure(single: dict, multi: dict, config: dict, path: Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    from ..lab import plotting

    cases = [tuple(c) for c in config["lesion_cases"]]
    archs = [a for a in ARCHS if a in config["archs"]]
    fig, axes = plotting.figure(3.6 * len(cases), 5.6, ncols=len(cases), nrows=2)
    axes = np.array(axes).reshape(2, len(cases))
    for j, (act, init) in enumerate(cases):
        for arch in archs:
            style = dict(color=ARCH_COLORS[arch], lw=1.4, label=ARCH_LABELS[arch])
            if (arch, act, init) in single:
                v = single[(arch, act, init)]
                axes[0, j].plot(np.arange(2, len(v) + 2), v, **style)
                if not np.isfinite(v).any():
                    axes[0, j].text(0.02, 0.02, f"{ARCH_LABELS[arch]}: the output does not "
                                    f"depend on the input", transform=axes[0, j].transAxes,
                                    fontsize=8, color=ARCH_COLORS[arch])
            if (arch, act, init) in multi:
                axes[1, j].plot(config["lesion_counts"], multi[(arch, act, init)],
                                marker="o", ms=3, **style)
        axes[0, j].set_title(f"{act}, {init}: one layer removed", fontsize=9.5)
        axes[0, j].set_xlabel("removed layer k", fontsize=9)
        axes[0, j].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[1, j].set_title(f"{act}, {init}: n layers removed", fontsize=9.5)
        axes[1, j].set_xlabel("n (random layers, one draw per seed)", fontsize=9)
        axes[1, j].set_xscale("log", base=2)
        for ax in axes[:, j]:
            ax.axhline(np.sqrt(2), color="black", lw=0.7, ls=":")
    axes[0, 0].set_ylabel("||f' - f|| / ||f|| (centred)", fontsize=9)
    axes[1, 0].set_ylabel("||f' - f|| / ||f|| (centred)", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9,
               bbox_to_anchor=(0.5, 1.0), title=f"depth {config['lesion_depth']}; dotted: "
               f"sqrt 2, an unrelated output", title_fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return plotting.save(fig, path)


def _ratio(norms) -> float:
    """First hidden layer's weight gradient over the last hidden layer's."""
    return float(norms[0] / norms[-2]) if norms is not None and len(norms) > 2 else np.nan


def table(grads: dict, stds: dict, single: dict, config: dict) -> pd.DataFrame:
    """One row per (arch, activation, init) at the largest depth."""
    dmax, rows = max(config["arch_depths"]), []
    for arch in [a for a in ARCHS if a in config["archs"]]:
        for act in config["activations"]:
            for init in config["inits"]:
                g, s = grads.get((arch, act, init, dmax)), stds.get((arch, act, init, dmax))
                lesion = single.get((arch, act, init))
                rows.append({
                    "arch": ARCH_LABELS[arch], "activation": act, "init": init,
                    f"W1/W_last, depth {dmax}": _ratio(g),
                    f"max_k ||dE/dW_k||, depth {dmax}": np.nan if g is None else np.max(g),
                    "std h_1": np.nan if s is None else s[0],
                    f"std h_{dmax}": np.nan if s is None else s[-1],
                    f"lesion: median change, depth {config.get('lesion_depth')}":
                        np.nan if lesion is None else float(np.nanmedian(lesion))
                        if np.isfinite(lesion).any() else np.nan})
    return pd.DataFrame(rows)


def _span(values) -> str:
    v = [x for x in values if np.isfinite(x)]
    return "n/a" if not v else f"{min(v):.2g} to {max(v):.2g}"


def findings(grads: dict, stds: dict, single: dict, multi: dict, config: dict) -> str:
    """The three claims, each against the measurements: Markdown bullets, key figures bold."""
    dmax, dmin = max(config["arch_depths"]), min(config["arch_depths"])
    pairs = [(a, i) for a in config["activations"] for i in config["inits"]]
    archs = set(config["archs"])
    drift = lambda arch: [stds[(arch, a, i, dmax)][-1] / stds[(arch, a, i, dmax)][0]  # noqa: E731
                          for a, i in pairs if (arch, a, i, dmax) in stds]
    ratio = lambda arch, a, i: _ratio(grads.get((arch, a, i, dmax)))  # noqa: E731
    out = []
    if {"plain", "batchnorm"} <= archs:
        bn, plain = drift("batchnorm"), drift("plain")
        held = bool(bn) and max(bn) / min(bn) < 2 and 0.5 < min(bn) and max(bn) < 2
        out.append(f"- **Batch norm stabilises the activations — "
                   f"{'right' if held else 'not borne out'}.** At depth {dmax} "
                   f"std h_{dmax} / std h_1 spans **{_span(bn)}** over the {len(pairs)} "
                   f"activation/init pairs with batch norm, against {_span(plain)} without"
                   + (": it undoes the weights' scale, naive N(0, 1) included." if held
                      else "."))
        worst = max(pairs, key=lambda p: abs(np.log(ratio("batchnorm", *p))))
        r = ratio("batchnorm", *worst)
        if not 0.1 < r < 10:
            out.append(f"- **Half right: that is the forward pass; the gradients of a deep "
                       f"plain batch-norm network {'explode' if r > 1 else 'vanish'} toward "
                       f"the input.** W1/W_last = **{r:.1e}** ({worst[0]}, {worst[1]}, depth "
                       f"{dmax}; x{r ** (1 / (dmax - 1)):.2f} per layer), as the mean-field "
                       f"theory of batch norm predicts (Yang et al., \"A mean field theory of "
                       f"batch normalization\", 2019).")
        else:
            out.append(f"- **The gradients stay level too:** W1/W_last at most **{r:.2g}** "
                       f"({worst[0]}, {worst[1]}, depth {dmax}).")
    if {"plain", "residual"} <= archs and ("sigmoid", "xavier") in pairs:
        plain, res = ratio("plain", "sigmoid", "xavier"), ratio("residual", "sigmoid", "xavier")
        verdict = "right" if res > 100 * plain else "not borne out"
        out.append(f"- **Residual connections mitigate vanishing gradients — {verdict}.** "
                   f"Sigmoid/Xavier at depth {dmax}: W1/W_last = {plain:.1e} plain, "
                   f"**{res:.2g}** residual: the skip adds the identity to every layer's "
                   f"Jacobian, dh_k/dh_(k-1) = I + (branch), so the error reaches the input.")
    if {"plain", "residual"} <= archs:
        case = ("relu", "he") if ("relu", "he") in pairs else pairs[-1]
        g_res, g_plain = grads.get(("residual", *case, dmax)), grads.get(("plain", *case, dmax))
        g_lo, s = grads.get(("residual", *case, dmin)), stds.get(("residual", *case, dmax))
        found = all(v is not None for v in (g_res, g_plain, g_lo, s))
        if found and g_res.max() > 10 * g_plain.max():
            out.append(f"- **Wrong without normalisation: they can make gradients explode "
                       f"instead.** Each block adds its branch's variance to the stream: with "
                       f"{case[0]}/{case[1]} std h grows from {s[0]:.2g} to **{s[-1]:.1e}** "
                       f"at depth {dmax}, and the largest weight gradient is "
                       f"**{g_res.max():.1e}** ({g_lo.max():.2g} at depth {dmin}; the plain "
                       f"network's: {g_plain.max():.2g}).")
    if "resbn" in archs:
        ratios = [ratio("resbn", *p) for p in pairs]
        spread = [stds[("resbn", *p, dmax)][-1] for p in pairs if ("resbn", *p, dmax) in stds]
        out.append(f"- **Residual + batch norm keeps both in range:** W1/W_last "
                   f"**{_span(ratios)}** over all pairs at depth {dmax}, std h_{dmax} at most "
                   f"{max(spread):.2g}: each block adds a branch of fixed spread, so the "
                   f"stream grows at most linearly in k (like sqrt k for uncorrelated "
                   f"branches) and each later block's share shrinks (De and "
                   f"Smith, \"Batch normalization biases residual blocks towards the identity "
                   f"function in deep networks\", 2020).")
    out += _lesion_findings(single, multi, config)
    return "\n".join(out)


def _lesion_findings(single: dict, multi: dict, config: dict) -> list[str]:
    cases = [tuple(c) for c in config.get("lesion_cases", ())]
    med = lambda arch: [float(np.nanmedian(single[(arch, *c)])) for c in cases  # noqa: E731
                        if (arch, *c) in single and np.isfinite(single[(arch, *c)]).any()]
    if not cases or not med("plain") or not med("residual"):
        return []
    collapsed = [f"{a}/{i}" for a, i in cases if ("plain", a, i) in single
                 and not np.isfinite(single[("plain", a, i)]).any()]
    out = [f"- **\"Fusing the weights of different layers into one model\" — wrong as a "
           f"description.** Every block keeps its own W_k with its own gradient (a separate "
           f"norm per layer in every panel); what the skips change is how the output depends "
           f"on a layer. Removing one layer (h_k = h_{{k-1}}, depth {config['lesion_depth']}) "
           f"changes a plain network's centred output by a median **{_span(med('plain'))}** "
           f"over the cases (sqrt 2 = 1.41: unrelated), a residual one's by "
           f"**{_span(med('residual'))}**"
           + (f", with batch norm {_span(med('resbn'))}" if med("resbn") else "")
           + ": the residual output is a sum of the blocks' contributions, one of which can "
           "go with a partial change."
           + (f" (Plain {', '.join(collapsed)}: the output no longer depends on the input at "
              f"this depth, so there is no change to measure.)" if collapsed else "")]
    counts = config.get("lesion_counts", ())
    curves = lambda arch: [multi[(arch, *c)] for c in cases if (arch, *c) in multi]  # noqa: E731
    res, plain = curves("residual"), curves("plain")
    if len(counts) > 1 and res and plain:
        first, last = np.nanmean([r[0] for r in res]), np.nanmean([r[-1] for r in res])
        p_first = np.nanmean([r[0] for r in plain])
        smooth = first < 0.75 * p_first and last > first
        out.append(f"- **{'Like' if smooth else 'Unlike'} an ensemble of shallower paths** "
                   f"(Veit, Wilber and Belongie, \"Residual networks behave like ensembles of "
                   f"relatively shallow networks\", 2016): removing n random layers changes the "
                   f"residual network's output by {first:.2f} for n = {counts[0]} and "
                   f"**{last:.2f}** for n = {counts[-1]} (mean over cases), the plain "
                   f"network's by {p_first:.2f} already for n = {counts[0]}. Measured at "
                   f"initialisation; Veit et al. lesioned trained networks.")
    return out


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The residual / batch-norm subsection of gradient_flow (None without arch rows)."""
    from ..lab.report import Section

    if _rows(df, "arch").empty or not config.get("archs"):
        return None
    grads, stds = geomean(df, "arch", "w_norms"), geomean(df, "arch", "act_std")
    single, multi = lesion_curves(df, "lesion_single"), lesion_curves(df, "lesion_multi")
    dmax, figdir = max(config["arch_depths"]), Path(figdir)
    shape = (f"width {config['width']}, batch {config['batch']}, depth {dmax}, geometric "
             f"mean of {config.get('arch_seeds', 1)} seed(s)")
    figures = [
        (_panel_figure(grads, config, dmax, "||dE/dW_k||", f"initialisation ({shape})",
                       figdir / f"{NAME}_grads.png",
                       f"layer k (1 = input side, {dmax + 1} = linear output)"),
         f"Per-layer weight-gradient norms at depth {dmax}: rows sigmoid, tanh, relu; columns "
         f"plain, residual, batch norm, residual + batch norm; one line per initialisation.",
         f"Grid of line plots, log scale: the weight-gradient norm of each layer k of a "
         f"depth-{dmax} network, for every activation (rows) and architecture (columns), "
         f"naive, Xavier and He initialisation as three lines."),
        (_panel_figure(stds, config, dmax, "std of h_k", f"initialisation ({shape})",
                       figdir / f"{NAME}_std.png", "hidden layer k (1 = input side)"),
         f"The spread (standard deviation) of every hidden layer's output h_k at depth "
         f"{dmax}: flat under batch norm (where the three initialisations coincide: batch norm "
         f"removes the weights' scale), drifting without it, growing in residual networks.",
         "Grid of line plots, log scale: the standard deviation of each hidden layer's "
         "activations against the layer index, same rows, columns and lines as the "
         "gradient grid."),
    ]
    if config.get("lesion_cases") and not _rows(df, "lesion").empty:
        figures.append((
            _lesion_figure(single, multi, config, figdir / f"{NAME}_lesion.png"),
            f"Lesion study at depth {config['lesion_depth']}: the relative change of the "
            f"network's output when one layer (top) or n layers (bottom) are removed.",
            "Two rows of line plots, one column per activation/init case: top, the relative "
            "change of the centred output against the removed layer's index; bottom, against "
            "the number of removed layers; one line per architecture, a dotted line at "
            "sqrt 2."))
    tab = table(grads, stds, single, config)
    return Section(NAME, TITLE, QUESTION, figures, tab,
                   findings(grads, stds, single, multi, config))
