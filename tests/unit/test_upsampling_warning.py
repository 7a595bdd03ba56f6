"""A spec whose input is far larger than the data's images says so: 28x28 animals at 224 are
upsampled 64-fold in pixels; the warning gives the sizes and `--set input=N`; int8 calibration on
images far smaller than the input is noted (`train` on an image folder is
tests/e2e/test_upsampling_warning_cli.py)."""

from __future__ import annotations


from spachc.datasets.data import animals, upsampling_warning
from spachc.lang.frontend import parse

SPEC = "model big\ninput {size} channels 1\nclasses {classes}\nstem conv1 patch 4\n\nstage conv x1 dim 8\n" \
       "-> down -> stage conv x1\n"


def test_animals_at_224_warn_with_the_sizes_and_a_size_that_fits():
    warning = upsampling_warning(parse(SPEC.format(size=224, classes=10)), animals())
    assert warning.code == "W1250" and warning.severity == "warning"
    assert "takes 224x224 input but the images of animals are 28x28: each is upsampled 64-fold" in warning.message
    assert warning.hint == "train at the data's size: --set input=32"  # 28 rounded up to the total stride 8
    assert upsampling_warning(parse(SPEC.format(size=32, classes=10)), animals()) is None
    assert upsampling_warning(parse(SPEC.format(size=112, classes=10)), animals()) is None  # 4x: not "far"


def test_int8_calibration_on_images_far_smaller_than_the_input_is_noted():
    from spachc.export.int8 import Int8Report, calibration_notes

    spec = parse(SPEC.format(size=224, classes=10))
    (note,) = calibration_notes(spec, "animals")
    assert "takes 224x224 input but the images of animals are 28x28" in note and "--set input=32" in note
    assert calibration_notes(parse(SPEC.format(size=32, classes=10)), "animals") == ()
    report = Int8Report(10, 1.0, 0.1, 5.0, 0.99, 8, "animals", notes=(note,))
    assert report.describe().endswith(f"ok; note: {note}")
