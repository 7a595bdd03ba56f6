"""A corrupt image in a training folder is skipped and named by a real `spachc train` (the data
pipeline's exact expectations are tests/unit/test_data.py)."""

from __future__ import annotations
from support.training import write_image_folder


def test_a_corrupt_training_image_is_skipped_and_named(tmp_path):
    """One bad file never aborts a run; it is left out, counted and named."""
    from support.training import train, write_spec

    root = write_image_folder(tmp_path / "data", train_per_class=8, val_per_class=2)
    bad = root / "train" / "checker" / "000.png"
    bad.write_bytes(b"garbage")
    proc = train(write_spec(tmp_path), root, tmp_path / "run", "--workers", "1", "--epochs", "1",
                 "--batch-size", "4")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: skipped 1 image(s) that cannot be read this epoch (left out of training and validation): " \
           f"{bad}: cannot decode image" in proc.stdout
    assert "Traceback" not in proc.stderr
