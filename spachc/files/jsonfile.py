"""Reading spachc's own JSON files (a model folder's config.json, a study's study.json).

One reader for "parse it, check its format name and version, or say which of those failed",
so every such file fails the same way: a coded error naming the file. Torch-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable


def read_format_file(path: Path, *, what: str, format: str, version: int, version_key: str,
                     error: Callable[[str], Exception], missing: str) -> dict:
    """The JSON object in `path`, whose "format" is `format` and whose `version_key` is
    `version`. `what` names the kind of file in messages ("spachc model config"); `missing`
    is the whole message for a file that does not exist (it says how to make one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(missing) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != format:
        raise error(f"{path}: not a {what} (its \"format\" is not \"{format}\")")
    if data.get(version_key) != version:
        raise error(f"{path}: {version_key} {data.get(version_key)} is not {version}, the one this spachc reads")
    return data
