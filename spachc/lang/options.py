"""The table of statements and stage options: one row per fact the language lets you write.

Each row states the option's value type, its built-in default, its range, which stages it
applies to and whether `--set` takes it. The resolver (values and defaults), the printer
(order, number style, what `to_text` may leave out), the rules (fields normalised away
where they cannot act), `--set` (its keys and help), the CLI help and `diff` (which fields
to compare) all read this table. The grammar states only the spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .kinds import KINDS

ValueType = Literal["int", "number", "switch", "number_or_off", "flag"]
# Where an option can act: every stage; stages with a spatial mixer (any kind but conv);
# or stages with a kind that lists the option in its registry entry (kinds.py).
Scope = Literal["stage", "mixer", "kind"]


@dataclass(frozen=True)
class StageOption:
    name: str
    type: ValueType
    default: object  # the built-in value; None where it is derived (see `default_text`)
    range: str
    scope: Scope
    settable: bool  # a --set key
    help: str
    default_text: str = ""  # for docs and help where `default` does not say it

    @property
    def kinds(self) -> tuple[str, ...]:
        """The block kinds whose presence makes this option act."""
        if self.scope == "stage":
            return tuple(KINDS)
        if self.scope == "mixer":
            return tuple(k for k, v in KINDS.items() if v.mixer)
        return tuple(k for k, v in KINDS.items() if self.name in v.options)

    def applies(self, kinds) -> bool:
        return any(k in self.kinds for k in kinds)

    @property
    def default_shown(self) -> str:
        if self.default_text:
            return self.default_text
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


STAGE_OPTIONS: dict[str, StageOption] = {o.name: o for o in (
    StageOption("dim", "int", None, ">= 1", "stage", True, "channel width of the stage (--set: the first stage's)",
                "required on the first stage; later stages double"),
    StageOption("heads", "int", None, ">= 1, divides dim", "kind", True, "attention heads",
                "max(1, first stage's dim // 32), in every stage"),
    StageOption("channel_ratio", "number", 2.0, "> 0", "stage", True, "channel-MLP hidden width = int(dim * R)"),
    StageOption("token_ratio", "number", 0.5, "> 0", "kind", True, "token-MLP hidden width = int(tokens * R)"),
    StageOption("cpe", "switch", True, "on | off", "stage", True, "the 3x3 depthwise positional conv in every block"),
    StageOption("layerscale", "number_or_off", 1e-4, "> 0 | off", "mixer", True,
                "initial value of the learnable scale on the spatial branch"),
    StageOption("qkv_bias", "switch", True, "on | off", "kind", True, "bias of the attention's qkv projection"),
    StageOption("shared", "flag", False, "flag", "stage", False,
                "one spatial mixer serves every non-conv block of the stage"),
)}
OPTION_ORDER: tuple[str, ...] = tuple(STAGE_OPTIONS)
INT_OPTIONS = frozenset(n for n, o in STAGE_OPTIONS.items() if o.type == "int")


def option(name: str) -> StageOption:
    return STAGE_OPTIONS[name]


def default_heads(first_dim: int) -> int:
    """The paper's head_dim of 32, from the first stage's width, the same in every stage."""
    return max(1, first_dim // 32)


@dataclass(frozen=True)
class StatementDef:
    keyword: str
    syntax: str
    settable: bool
    default: str
    help: str
    int_args: tuple[str, ...] = ()  # arguments printed as integers


STATEMENTS: dict[str, StatementDef] = {s.keyword: s for s in (
    StatementDef("model", "model NAME", True, "the file's stem", "the architecture's name"),
    StatementDef("input", "input SIZE [channels C]", True, "224 (channels 3)",
                 "image size: 224 (square) or 224x192 (height x width)", ("channels",)),
    StatementDef("classes", "classes N", True, "1000", "classifier outputs", ("count",)),
    StatementDef("stem", "stem [conv1|conv4] patch P [hidden H]", True,
                 "conv1 patch 4 with a `down` in the pipeline, else conv1 patch 16; hidden 64",
                 "patch embedding", ("patch", "hidden")),
    StatementDef("defaults", "defaults OPTION...", False, "none",
                 "stage options every stage takes unless it sets its own"),
    StatementDef("drop_path", "drop_path RATE [linear|constant]", True, "0 linear",
                 "stochastic depth: rising from 0 to RATE over the blocks (linear) or RATE in every block (constant)"),
)}
STATEMENT_ORDER: tuple[str, ...] = tuple(STATEMENTS)

DEFAULT_INPUT = 224
DEFAULT_CLASSES = 1000
DEFAULT_CHANNELS = 3
DEFAULT_CONV4_HIDDEN = 64
DROP_PATH_SCHEDULES = ("linear", "constant")


def default_patch(stages: int) -> int:
    """The paper's conventions: multi-stage models patch 4, single-stage ones patch 16."""
    return 4 if stages > 1 else 16


SET_KEYS: tuple[str, ...] = (tuple(k for k, s in STATEMENTS.items() if s.settable)
                             + tuple(k for k, o in STAGE_OPTIONS.items() if o.settable))


def set_help() -> str:
    """The --set help text, listing every key the table marks settable."""
    return ("Override a statement or stage option, e.g. --set classes=10 --set input=32 --set heads=2. "
            "Keys: " + ", ".join(f"{k} (first stage)" if k == "dim" else k for k in SET_KEYS) + ".")
