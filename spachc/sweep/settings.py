"""A study's training settings (settings.json): one data set, one recipe and the seeds, fixed
for the whole study by its first `sweep run`, so every sample is trained the same way whichever
machine or shard trains it. The runner, successive halving and the report all read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .study import SETTINGS_FIELDS, SETTINGS_FILE, StudyError, checked_fields, create_exclusively, read_json
from ..diagnostics.codes import E1304


@dataclass(frozen=True)
class Settings:
    """What every sample of a study is trained with: one data set, one recipe, and the seeds
    (each sample is trained once per seed, to measure the seed-to-seed spread)."""

    data: str
    recipe: dict
    seeds: tuple[int, ...] = (0,)
    limit_train: int | None = None
    limit_val: int | None = None
    overrides: tuple[str, ...] = ()  # `--set K=V` applied to every sample's spec
    budgets: tuple[int, ...] = ()  # successive halving (halving.py): epochs of each rung; () trains once
    eta: int = 3  # ... keeping the best 1/eta of a rung for the next

    def to_json(self) -> str:
        halving = {"budgets": list(self.budgets), "eta": self.eta} if self.budgets else {}
        return json.dumps({"data": self.data, "limit_train": self.limit_train, "limit_val": self.limit_val,
                           "seeds": list(self.seeds), "set": list(self.overrides), **halving, "recipe": self.recipe},
                          indent=2) + "\n"


def saved_settings(root: Path) -> Settings | None:
    path = root / SETTINGS_FILE
    data = read_json(path, missing_ok=True)
    if data is None:
        return None
    checked_fields(path, data, SETTINGS_FIELDS)
    return Settings(data["data"], data["recipe"], tuple(data["seeds"]), data.get("limit_train"), data.get("limit_val"),
                    tuple(data.get("set", ())), tuple(data.get("budgets", ())), data.get("eta", 3))


def fix_settings(root: Path, wanted: Settings) -> Settings:
    """The study's settings: `wanted` if this is the first run (written atomically, even when
    shards start at once), otherwise the saved ones, which `wanted` must equal."""
    create_exclusively(root / SETTINGS_FILE, wanted.to_json())
    saved = saved_settings(root)
    if saved != wanted:
        diffs = [f"--{'set' if k == 'overrides' else k.replace('_', '-')}: study has {getattr(saved, k)!r}, now {getattr(wanted, k)!r}"
                 for k in ("data", "seeds", "limit_train", "limit_val", "overrides", "budgets", "eta") if getattr(saved, k) != getattr(wanted, k)]
        diffs += [f"--{k.replace('_', '-')} {saved.recipe.get(k)!r} (now {wanted.recipe.get(k)!r})"
                  for k in sorted(set(saved.recipe) | set(wanted.recipe)) if saved.recipe.get(k) != wanted.recipe.get(k)]
        raise StudyError(f"{root}: the study is trained with other settings ({SETTINGS_FILE}): " + "; ".join(diffs),
                         code=E1304, hint="every sample of a study gets the same data and recipe; run without "
                         "data and recipe flags to use the study's own, or sample a new study")
    return saved
