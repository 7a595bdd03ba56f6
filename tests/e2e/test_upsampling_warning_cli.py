"""`spachc train` warns when the spec's input is far larger than an image folder's images, measured
from their headers (the warning itself is tests/unit/test_upsampling_warning.py)."""

from __future__ import annotations

from support.training import SMALL_RUN, train, write_image_folder, write_spec

from spachc.datasets.data import open_dataset, upsampling_warning
from spachc.lang.frontend import parse

SPEC = "model big\ninput {size} channels 1\nclasses {classes}\nstem conv1 patch 4\n\nstage conv x1 dim 8\n" \
       "-> down -> stage conv x1\n"


def test_train_warns_for_an_image_folder_from_its_headers(tmp_path):
    data = write_image_folder(tmp_path / "data", train_per_class=4, val_per_class=2, size=8)
    assert upsampling_warning(parse(SPEC.format(size=48, classes=3)), open_dataset(str(data))).hint \
        == "train at the data's size: --set input=8"
    spec = write_spec(tmp_path, SPEC.format(size=48, classes=3))
    proc = train(spec, data, tmp_path / "run", "--epochs", "1", "--workers", "0", *SMALL_RUN[2:], "--batch-size", "4")
    assert proc.returncode == 0, proc.stderr
    assert "warning[W1250]: spec 'big' takes 48x48 input but the images of" in proc.stderr
    assert "are 8x8: each is upsampled 36-fold" in proc.stderr and "--set input=8" in proc.stderr
