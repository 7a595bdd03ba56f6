"""Data sets: the built-in `digits` and `animals` and image folders, as PIL images and labels.

Open one, iterate it, and write it out as a folder of PNG files that opens the same way::

    from spachc.datasets import open_dataset, write_image_folder

    data = open_dataset("digits")                # or "animals", or a folder: train/<class>/*.png, val/...
    print(data.classes, len(data.train), len(data.val))
    val = open_dataset("digits", split="val")
    for image, label in val:                     # PIL images (8x8 "L" here) and label indices
        print(image.size, image.mode, val.classes[label])
    write_image_folder(data, "digits_png")       # digits_png/train/0/00000.png, ..., digits_png/val/9/...
    again = open_dataset("digits_png")           # the same labels and pixels (PNG is lossless)

`open_dataset(source)` gives a `Dataset` (`classes`, `train`, `val`, `norm`: the mean and std
training normalises with); `open_dataset(source, split="train" | "val")` gives that `Split`
alone, which iterates as (PIL image, label index) pairs and knows its `classes`. `limited`
makes a smaller, class-balanced copy; `check_fit` and `upsampling_warning` say whether a spec
can train on a data set. Errors are `DataError`s with codes (E1001; E1430-E1433 here).

The training pipeline (samplers, per-sample transforms, uint8 batches finished on the device)
lives in the modules beside this one and is not part of this interface. Importing this package
does not import torch.
"""

from .data import (BUILTIN, Dataset, DataError, Split, UnknownSplit, check_fit, limited, open_dataset,
                   upsampling_warning, worker_error_message)
from .folder_writer import BadClassName, FolderNotEmpty, FolderWriteFailed, write_image_folder
from .normalization import IMAGENET, Normalization

__all__ = ["BUILTIN", "IMAGENET", "BadClassName", "DataError", "Dataset", "FolderNotEmpty", "FolderWriteFailed",
           "Normalization", "Split", "UnknownSplit", "check_fit", "limited", "open_dataset", "upsampling_warning",
           "worker_error_message", "write_image_folder"]
