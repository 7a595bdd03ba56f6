"""Architecture diffs: what two specs build differently, stage by stage.

A diff compares resolved Specs (the IR), never text, so reformatting, comments,
written-out defaults and the model name change nothing: equal hashes mean "same
architecture". Sides are spec files, zoo names, or `REV:path` blobs read from git.
Nothing here imports torch: params and MACs come from `spachc.summary`.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from ..diagnostics import UserError
from .frontend import parse
from .ir import Spec, Stage
from .options import OPTION_ORDER
from .parser import decode
from .resources import zoo_names
from .summary import Summary, summary

Status = Literal["same", "changed", "added", "removed"]
STAGE_FIELDS = ("dim", "grid") + tuple(o for o in OPTION_ORDER if o != "dim")  # from the options table
STEM_FIELDS = ("kind", "patch", "hidden")
MODEL_FIELDS = ("input", "channels", "drop_path", "drop_path_schedule")
ALIGN_LIMIT = 4096  # longer block lists are compared by counts per kind, not aligned


class GitReadError(UserError):
    """`REV:path` could not be read from git; the message carries git's own reason."""

    code = "E953"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class Change(_Row):
    field: str
    before: Any
    after: Any


class _Counted(_Row):
    """Params and MACs on both sides, and their deltas."""

    params_before: int = 0
    params_after: int = 0
    macs_before: int = 0
    macs_after: int = 0

    @computed_field
    @property
    def params_delta(self) -> int:
        return self.params_after - self.params_before

    @computed_field
    @property
    def macs_delta(self) -> int:
        return self.macs_after - self.macs_before


class PartDiff(_Counted):
    """One row of the diff table: the stem, a stage, or the head."""

    part: str
    status: Status
    blocks_before: str | None = None
    blocks_after: str | None = None
    block_changes: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()


class SpecDiff(_Counted):
    before: str
    after: str
    name_before: str
    name_after: str
    hash_before: str
    hash_after: str
    model_changes: tuple[Change, ...]
    parts: tuple[PartDiff, ...]

    @computed_field
    @property
    def same(self) -> bool:
        return self.hash_before == self.hash_after


# --- reading the two sides -------------------------------------------------------------

def split_revision(arg: str) -> tuple[str, str] | None:
    """`REV:path` -> (REV, path), or None when `arg` is a file on disk or a zoo name
    (a path that exists wins over the git reading). `:path` is the staged version."""
    if Path(arg).exists() or arg in zoo_names():
        return None
    rev, sep, path = arg.partition(":")
    return (rev, path) if sep and path else None


def read_git_blob(rev: str, path: str, cwd: str | Path | None = None) -> bytes:
    """The file `REV:path` as git stores it (`git cat-file blob`: like `git show REV:path`, but a
    directory is an error rather than a listing), read in the current repository."""
    where = f"{rev}:{path}"
    try:
        done = subprocess.run(["git", "cat-file", "blob", where], cwd=cwd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise GitReadError(f"{where}: cannot read from git: the `git` program is not installed") from None
    if done.returncode != 0:
        reason = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["git cat-file failed"])[0]
        if reason.endswith(": bad file"):
            reason = f"'{path}' is not a file in {rev or 'the index'} (a directory?)"
        raise GitReadError(f"{where}: git cannot read it: {reason}")
    return done.stdout


def load_side(arg: str) -> Spec:
    """A spec file, a zoo name, a model folder, or `REV:path` from git, resolved to a Spec."""
    from ..model_io.folder import spec_of

    revision = split_revision(arg)
    if revision is None:
        return spec_of(arg)
    source = decode(read_git_blob(*revision), arg)
    return parse(source.text, source.name)


# --- comparing -------------------------------------------------------------------------

def diff_specs(before: Spec, after: Spec, before_label: str = "a", after_label: str = "b") -> SpecDiff:
    sa, sb = summary(before), summary(after)
    parts = [_stem_diff(before, after, sa, sb)]
    for i in range(max(len(before.stages), len(after.stages))):
        parts.append(_stage_diff(i, before, after, sa, sb))
    parts.append(_head_diff(before, after, sa, sb))
    return SpecDiff(
        before=before_label, after=after_label, name_before=before.name, name_after=after.name,
        hash_before=before.hash, hash_after=after.hash,
        model_changes=_field_changes(before, after, MODEL_FIELDS),
        parts=tuple(parts), params_before=sa.params, params_after=sb.params, macs_before=sa.macs, macs_after=sb.macs,
    )


def _field_changes(a: Any, b: Any, fields: tuple[str, ...]) -> tuple[Change, ...]:
    return tuple(Change(field=f, before=getattr(a, f), after=getattr(b, f))
                 for f in fields if getattr(a, f) != getattr(b, f))


def _part(name: str, params: tuple[int, int], macs: tuple[int, int], changes: tuple[Change, ...] = (),
          block_changes: tuple[str, ...] = (), **blocks) -> PartDiff:
    moved = params[0] != params[1] or macs[0] != macs[1]
    return PartDiff(part=name, status="changed" if changes or block_changes or moved else "same",
                    changes=changes, block_changes=block_changes, params_before=params[0], params_after=params[1],
                    macs_before=macs[0], macs_after=macs[1], **blocks)


def _stem_diff(a: Spec, b: Spec, sa: Summary, sb: Summary) -> PartDiff:
    return _part("stem", (sa.stem_params, sb.stem_params), (sa.stem_macs, sb.stem_macs),
                 _field_changes(a.stem, b.stem, STEM_FIELDS))


def _head_diff(a: Spec, b: Spec, sa: Summary, sb: Summary) -> PartDiff:
    return _part("head", (sa.head_params, sb.head_params), (sa.head_macs, sb.head_macs),
                 _field_changes(a, b, ("classes",)))


def _stage_diff(i: int, a: Spec, b: Spec, sa: Summary, sb: Summary) -> PartDiff:
    """Stages are matched by position; a stage only one side has is added or removed."""
    row_a = sa.stages[i] if i < len(a.stages) else None
    row_b = sb.stages[i] if i < len(b.stages) else None
    params = (row_a.params if row_a else 0, row_b.params if row_b else 0)
    macs = (row_a.macs if row_a else 0, row_b.macs if row_b else 0)
    blocks = dict(blocks_before=row_a.blocks if row_a else None, blocks_after=row_b.blocks if row_b else None)
    if row_a is None or row_b is None:
        return PartDiff(part=f"stage {i + 1}", status="added" if row_a is None else "removed",
                        params_before=params[0], params_after=params[1], macs_before=macs[0], macs_after=macs[1],
                        **blocks)
    old, new = a.stages[i], b.stages[i]
    return _part(f"stage {i + 1}", params, macs, _field_changes(old, new, STAGE_FIELDS), block_delta(old, new),
                 **blocks)


def block_delta(old: Stage, new: Stage) -> tuple[str, ...]:
    """Blocks added, removed or changed in kind, from an alignment of the two block lists:
    e.g. ('changed conv -> trans x2', 'added trans x8')."""
    a = [blk.kind for blk in old.blocks]
    b = [blk.kind for blk in new.blocks]
    if a == b:
        return ()
    added, removed, changed = Counter(), Counter(), Counter()
    if len(a) + len(b) > ALIGN_LIMIT:
        count_a, count_b = Counter(a), Counter(b)
        added, removed = count_b - count_a, count_a - count_b
    else:
        for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            pairs = min(i2 - i1, j2 - j1)
            changed.update(f"{x} -> {y}" for x, y in zip(a[i1:i1 + pairs], b[j1:j1 + pairs]) if x != y)
            removed.update(a[i1 + pairs:i2])
            added.update(b[j1 + pairs:j2])
    return (tuple(f"changed {k} x{n}" for k, n in changed.items())
            + tuple(f"added {k} x{n}" for k, n in added.items())
            + tuple(f"removed {k} x{n}" for k, n in removed.items()))


def differences(before: Spec, after: Spec) -> list[str]:
    """What differs between two architectures, one short line per changed part
    (`stage 2: dim 256 -> 128`): for messages that must say why two specs are not the same."""
    d = diff_specs(before, after)
    lines = [f"{c.field} {_shown(c.before)} -> {_shown(c.after)}" for c in d.model_changes]
    for p in d.parts:
        if p.status == "same":
            continue
        items = [f"{c.field} {_shown(c.before)} -> {_shown(c.after)}" for c in p.changes]
        if p.blocks_before != p.blocks_after:
            items.append(f"blocks {p.blocks_before or '(none)'} -> {p.blocks_after or '(none)'}")
        if not items and p.params_before != p.params_after:
            items.append(f"params {p.params_before:,} -> {p.params_after:,}")
        if items:
            lines.append(f"{p.part}: " + "; ".join(items))
    return lines


def _shown(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v))
    return "none" if v is None else str(v)
