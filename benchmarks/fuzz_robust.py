"""Long-running fuzz of what spachc reads from users' disks: image files and training states.

    .venv/bin/python benchmarks/fuzz_robust.py --minutes 5 [--seed 1]

Images: PNG, JPEG, GIF, BMP and 16-bit PNG sources, mutated (bit flips, truncations, byte runs,
header sizes rewritten with a valid CRC), through spachc.datasets.preprocess.read_image and, when that
decodes, prepare() at 16x16: a decoded image or a coded error (ImageReadError) are the only
allowed outcomes.
state.pt: a real checkpoint of a tiny run, mutated (bit flips, truncations, byte runs) and
crafted (entries removed, retyped, set to huge or negative numbers, tensors reshaped), through
read_state and then the trainer's own resume checks and restore: a coded error (UserError) or
a state that loads. Anything else is an escape; a case over 20 s is a hang. The quick versions
are tests/unit/test_hostile_images.py and tests/e2e/test_resume_integrity.py.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import numpy as np  # noqa: E402
from support.image_fuzzing import mutate  # noqa: E402
from PIL import Image  # noqa: E402

HANG_SECONDS = 20


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang()


def image_sources(folder: Path) -> list[bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    sources = []
    for fmt, image in (("PNG", rgb), ("JPEG", rgb), ("GIF", rgb.convert("P")), ("BMP", rgb),
                       ("PNG", Image.fromarray(rng.integers(0, 65535, (16, 16), dtype=np.uint16)))):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        sources.append(buffer.getvalue())
    return sources


def image_case(path: Path) -> str:
    from spachc.model_io.metadata import Preprocessing
    from spachc.datasets.preprocess import ImageReadError, prepare, read_image

    try:
        image = read_image(path)
        prepare(image, Preprocessing((16, 16), 3, (0.5,) * 3, (0.5,) * 3, 0.875))
        return "decoded"
    except ImageReadError:
        return "coded"


def make_state(root: Path) -> tuple[Path, Path]:
    from support.training import SMALL_RUN, train, write_image_folder, write_spec

    data = write_image_folder(root / "data", train_per_class=8, val_per_class=2)
    run = root / "run"
    proc = train(write_spec(root), data, run, "--epochs", "2", "--stop-after", "1", "--workers", "0", *SMALL_RUN[2:],
                 "--batch-size", "4")
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return data, run


def craft(state: dict, rng: random.Random) -> dict:
    import torch

    from spachc.train.run_folder import CHECKSUM_KEY, state_checksum

    state = dict(state)
    key = rng.choice(sorted(k for k in state if k != CHECKSUM_KEY))
    choice = rng.randrange(6)
    if choice == 0:
        state.pop(key)
    elif choice == 1:
        state[key] = rng.choice([None, "x", 1, 1.5, [], {}, torch.zeros(2), True])
    elif choice == 2:
        state[key] = rng.choice([10 ** 9, -1, 2 ** 63 - 1, 0, float("nan"), float("inf")])
    elif choice == 3 and isinstance(state[key], dict) and state[key]:
        inner = dict(state[key])
        name = rng.choice(sorted(inner, key=repr))
        inner[name] = rng.choice([torch.zeros(3, 1), torch.zeros(0), "x", None, torch.ones(2, dtype=torch.int64)])
        state[key] = inner
    elif choice == 4:
        state["history"] = [{"epoch": 1}] * rng.randrange(4)
        state["epoch"] = rng.randrange(4)
    else:
        state["step_in_epoch"] = rng.choice([10 ** 6, -5, 3])
    if rng.random() < 0.7:  # crafted consistently: the checksum cannot catch it, the entry checks must
        state[CHECKSUM_KEY] = state_checksum(state)
    return state


class Restorer:
    """A trainer built once for the run; each case goes through its resume checks and restore."""

    def __init__(self, data: Path, run: Path):
        from spachc.datasets.data import open_dataset
        from spachc.train.loop import RunOptions, Trainer
        from spachc.train.recipe import Recipe
        from spachc.train.run_folder import read_state, state_spec

        state = read_state(run / "state.pt")
        self.trainer = Trainer(state_spec(state), open_dataset(str(data)), Recipe.model_validate_json(state["recipe"]),
                               RunOptions(out=run, device="cpu", resume=True), max_params=10 ** 9)

    def __call__(self, state: dict) -> None:
        self.trainer.check_resume(state)
        self.trainer.check_resume_precision(state)
        self.trainer.restore(state)


def state_case(path: Path, restorer: Restorer) -> str:
    from spachc.diagnostics import UserError
    from spachc.train.run_folder import read_state

    try:
        restorer(read_state(path))
        return "loaded"
    except UserError:
        return "coded"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import torch

    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _alarm)
    tally = {"images": {}, "state": {}}
    escapes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spachc-fuzz-") as tmp:
        root = Path(tmp)
        sources = image_sources(root)
        data, run = make_state(root)
        original = (run / "state.pt").read_bytes()
        loaded = torch.load(run / "state.pt", weights_only=True)
        restorer = Restorer(data, run)
        end = time.monotonic() + 60 * args.minutes
        case = root / "case"
        while time.monotonic() < end:
            target = rng.choice(("images", "state"))
            if target == "images":
                case.write_bytes(mutate(rng.choice(sources), rng))
                run_case = lambda: image_case(case)  # noqa: E731
            else:
                if rng.random() < 0.5:
                    case.write_bytes(mutate(original, rng))
                else:
                    torch.save(craft(loaded, rng), case)
                run_case = lambda: state_case(case, restorer)  # noqa: E731
            signal.alarm(HANG_SECONDS)
            try:
                outcome = run_case()
            except Hang:
                outcome = "hang"
                shutil.copy(case, REPO / "benchmarks" / f"fuzz-hang-{target}-{len(escapes)}")
            except Exception:  # noqa: BLE001 - an escape is what this looks for
                outcome = "escape"
                escapes.append(traceback.format_exc())
                shutil.copy(case, REPO / "benchmarks" / f"fuzz-escape-{target}-{len(escapes)}")
            finally:
                signal.alarm(0)
            tally[target][outcome] = tally[target].get(outcome, 0) + 1
    for target, counts in tally.items():
        print(f"{target}: {sum(counts.values())} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for text in escapes[:5]:
        print(text)
    sys.exit(1 if escapes or any("hang" in c for c in tally.values()) else 0)


if __name__ == "__main__":
    main()
