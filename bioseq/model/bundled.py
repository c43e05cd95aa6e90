"""Ready-to-use models that ship with bioseq: ``ss3`` (protein secondary structure, 3 states, per residue),
``amp`` (antimicrobial peptide or not) and ``splice`` (splice-junction donor / acceptor / neither).

They are model files like any other (safetensors, no pickle, read through the same checks,
:func:`bioseq.model.store.load_model`), kept inside the package in ``bioseq/bundled/`` (package data, so an
install has them) and trained by ``python -m bench.bundle`` on the shared benchmarks. Wherever a model name is
accepted, a bundled name means the bundled model (a file path still wins over a name).

They are **read-only**: they cannot be renamed, deleted or overwritten, and their names are reserved, so a model
of the workspace can never take one (:func:`bioseq.model.store.model_path`, the path of every model saved by
name, refuses them with :func:`read_only`).

Each file's metadata has a ``bundled`` entry, its model card: the data, its source and licence, the split,
and the test figures (scored once on the benchmark's test split, with a Wilson 95% interval) beside the
published figure; :func:`card_rows` words it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelFileError

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled"
SUFFIX = ".safetensors"


def names() -> list[str]:
    """The bundled models' names, sorted (those whose file is in the package)."""
    return sorted(p.name.removesuffix(SUFFIX) for p in BUNDLED_DIR.glob(f"*{SUFFIX}")) if BUNDLED_DIR.is_dir() else []


def is_bundled(name: str) -> bool:
    return isinstance(name, str) and (BUNDLED_DIR / f"{name}{SUFFIX}").is_file()


def path(name: str) -> Path:
    """The file of bundled model ``name``; :class:`ModelFileError` if there is none."""
    if not is_bundled(name):
        raise ModelFileError(f"{name}: no bundled model of that name (bundled: {', '.join(names()) or 'none'})")
    return BUNDLED_DIR / f"{name}{SUFFIX}"


def read_only(name: str) -> ModelFileError:
    """The one refusal for anything that would write, rename or delete bundled model ``name``."""
    return ModelFileError(f"{name!r} is a bundled model (it ships with bioseq): it cannot be renamed, deleted or "
                          "overwritten, and no other model can take its name; choose another name")


def _pct(v) -> str:
    return f"{100 * v:.1f}%" if isinstance(v, int | float) else "-"


def figures_line(card: dict) -> str:
    """``accuracy 89.9% (Wilson 95% CI 88.2-91.4%; 1,424 sequences), AUROC 0.965, MCC 0.799``."""
    t = card.get("test") or {}
    lo, hi = (t.get("wilson95") or [None, None])[:2]
    n = t.get("n")
    ci = f"{100 * lo:.1f}-{_pct(hi)}" if isinstance(lo, int | float) else "-"
    words = [f"accuracy {_pct(t.get('accuracy'))} (Wilson 95% CI {ci}"
             + (f"; {n:,} {t.get('unit', 'records')})" if isinstance(n, int) else ")")]
    words += [f"{k.upper() if k in ('mcc', 'sov') else k.replace('auroc', 'AUROC').replace('f1', 'macro F1')} "
              f"{t[k]:.3f}" for k in ("auroc", "mcc", "f1", "sov") if isinstance(t.get(k), int | float)]
    return ", ".join(words)


def card_rows(meta: dict) -> list[tuple[str, str]]:
    """The bundled model card's rows (``field``, ``value``): data, source, licence, split, test figures, the
    published figure and how it was trained; none for a model that is not bundled."""
    card = meta.get("bundled")
    if not isinstance(card, dict):
        return []
    pub = card.get("published") or {}
    rows = [("bundled", "yes: ships with bioseq, read-only"), ("data", card.get("data")),
            ("data source", card.get("source")), ("data licence", card.get("licence")), ("split", card.get("split")),
            ("test", figures_line(card))]
    if pub:
        rows.append(("published", f"{pub.get('method')}: {_pct(pub.get('accuracy'))}"))
    cpu = card.get("train_cpu_s")
    rows.append(("trained with", f"{card.get('command')}"
                 + (f" ({cpu / 60:.1f} CPU-minutes)" if isinstance(cpu, int | float) else "")))
    return [(k, str(v)) for k, v in rows if v is not None]
