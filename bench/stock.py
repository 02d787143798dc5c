"""The stock ``rasa init`` NLU pipeline of Rasa 3.6, trained on our data/nlu and cached by hash."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
NLU_DATA = ROOT / "data" / "nlu"

# Exactly the pipeline Rasa 3.6 uses when `rasa init`'s config.yml leaves it empty
# (rasa/engine/recipes/config_files/default_config.yml); no policies, since we train NLU only.
STOCK_CONFIG = """\
recipe: default.v1
assistant_id: placeholder_default
language: en

pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: "char_wb"
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
    constrain_similarities: true
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1

policies: []
"""


def data_hash() -> str:
    """A hash of the stock config and every file under data/nlu."""
    digest = hashlib.sha256(STOCK_CONFIG.encode("utf-8"))
    for path in sorted(NLU_DATA.rglob("*.yml")):
        digest.update(path.relative_to(ROOT).as_posix().encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def stock_model(verbose: bool = True) -> Path:
    """The cached stock model for the current data, trained with `rasa train nlu` if missing."""
    name = f"stock-{data_hash()}"
    cached = CACHE / f"{name}.tar.gz"
    if cached.exists():
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    rasa = Path(sys.executable).with_name("rasa")
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(STOCK_CONFIG, encoding="utf-8")
        out = Path(tmp) / "models"
        command = [
            str(rasa),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(NLU_DATA),
            "--out",
            str(out),
            "--fixed-model-name",
            name,
            "--quiet",
        ]
        if verbose:
            print(f"training the stock pipeline (once per data hash): {' '.join(command)}", flush=True)
        subprocess.run(command, check=True, cwd=tmp)
        shutil.move(str(out / f"{name}.tar.gz"), cached)
    for old in CACHE.glob("stock-*.tar.gz"):
        if old != cached:
            old.unlink()
    return cached


if __name__ == "__main__":
    print(stock_model())
