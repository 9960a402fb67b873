"""Recipe benchmark: what checking the recipe knowledge costs next to merely parsing it.

    .venv/bin/python bench/recipes.py

1. Load every recipe with schema check, line numbers and catalog cross-checks vs a plain libyaml parse of the files.
2. The full `aimgen recipes check` core (load + lint + citation lookup) for all files.
3. Seed import of one golden case (parse + convert + schema check of the output), per call.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _timing import best  # noqa: E402



def main() -> None:
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.recipes import load
    from aimgen.recipes.lint import check_recipes
    from aimgen.recipes.seed_import import convert_seed
    from aimgen.schema_check import check
    from aimgen.yamlio import load_with_lines

    files = load.recipe_files()
    texts = [f.read_text() for f in files]
    load_gpus(), load_models()  # catalogs are cached for the process; time the recipes themselves

    def checked() -> None:
        load._load_cached.cache_clear()
        load.load_all_profiles()

    fast_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    plain = best(lambda: [yaml.load(t, Loader=fast_loader) for t in texts])
    full = best(checked)
    profiles = len(load.load_all_profiles())
    print(f"recipes: {len(files)} files, {profiles} profiles")
    print(f"load+check all: {full * 1000:.1f} ms   plain parse (libyaml): {plain * 1000:.1f} ms   ratio {full / plain:.1f}x")
    lint = best(lambda: check_recipes(), repeat=3)
    print(f"recipes check (load + lint + citations): {lint * 1000:.1f} ms")

    seed = (ROOT / "tests" / "cases" / "seed" / "env-and-dict-args" / "input.yaml").read_text()

    def one_import() -> None:
        data, _ = load_with_lines(seed, "seed.yaml")
        result = convert_seed(data, gpus=load_gpus(), models=load_models(), source="seed.yaml")
        check(result.recipe, "recipe", "out")

    per = statistics.median(best(one_import, repeat=20) for _ in range(3))
    print(f"seed import (parse + convert + schema check): {per * 1000:.2f} ms per file")


if __name__ == "__main__":
    main()
