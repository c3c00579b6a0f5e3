"""Hugging Face ``datasets`` as data sources: the Hub, Parquet/Arrow files and ``save_to_disk`` folders.

- ``hf:ORG/NAME[:SPLIT]`` (split ``train`` by default) goes through ``datasets.load_dataset``, so
  the user's own cache, token and mirror settings apply (``HF_TOKEN``, ``HF_HOME``,
  ``HF_DATASETS_OFFLINE``); ``hf:`` followed by a local folder of data files works the same way;
- a ``.parquet`` or ``.arrow`` file, or a folder written by ``Dataset.save_to_disk`` (a
  ``DatasetDict`` gives its ``train`` split, or its only one), is opened locally.

Rows are read with the readers of the formats they hold, recognised from the first row as for
files: xLAM (``query``, ``tools``, ``answers`` as JSON strings: xlam-function-calling-60k as
published), OpenAI/TRL chat (``messages`` + ``tools``; either may be a JSON string), and the
paper's benchmark records. Arrow stores a column of objects as one struct type, so every row's
objects carry every key any row has, ``None`` where the row had none; those ``None`` entries are
dropped again before a row is read (a tool's parameters, a call's arguments are then the row's
own).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.schema import Example

HF_PREFIX = "hf:"
FILE_SUFFIXES = (".parquet", ".arrow")
_SAVED_MARKERS = ("state.json", "dataset_dict.json")
_JSON_COLUMNS = ("tools", "messages", "functions")
"""Columns of OpenAI/TRL rows that data sets often store as JSON text (Arrow cannot hold their
varying shapes otherwise)."""


def is_dataset_source(source: str | Path) -> bool:
    """Whether ``source`` is read through ``datasets`` (an ``hf:`` spec, a Parquet/Arrow file, a
    ``save_to_disk`` folder)."""
    text = str(source)
    if text.startswith(HF_PREFIX):
        return True
    path = Path(text)
    if path.suffix.lower() in FILE_SUFFIXES:
        return True
    return path.is_dir() and any((path / marker).is_file() for marker in _SAVED_MARKERS)


def _split_spec(spec: str) -> tuple[str, str]:
    """``ORG/NAME[:SPLIT]`` -> (name, split); a colon inside a path is not a split."""
    name, sep, split = spec.rpartition(":")
    if not sep or not split or "/" in split or not name:
        return spec, "train"
    return name, split


@lru_cache(maxsize=8)
def load_dataset_source(source: str) -> Any:
    """The ``datasets.Dataset`` behind ``source`` (opened once per process)."""
    try:
        import datasets
    except ImportError as err:  # a dependency, but say what to do if it was removed
        raise HammerError(
            "reading it needs the 'datasets' package: pip install datasets", file=source
        ) from err
    shown = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # library code does not print: the CLI shows its own progress
    try:
        if source.startswith(HF_PREFIX):
            name, split = _split_spec(source.removeprefix(HF_PREFIX))
            if not name:
                raise HammerError("an hf: source names a data set: hf:ORG/NAME[:SPLIT]", file=source)
            return datasets.load_dataset(name, split=split)
        path = Path(source)
        if not path.exists():
            raise HammerError("no such file or folder", file=source)
        if path.suffix.lower() == ".parquet":
            return datasets.Dataset.from_parquet(str(path), keep_in_memory=True)  # no cache copy
        if path.suffix.lower() == ".arrow":
            return _from_arrow(path)
        return _one_split(datasets.load_from_disk(str(path)), source)
    except HammerError:
        raise
    except Exception as err:  # datasets raises many types (not found, offline, bad split, auth)
        raise HammerError(f"cannot load it with datasets: {type(err).__name__}: {err}", file=source) from err
    finally:
        if shown:
            datasets.enable_progress_bars()


def _from_arrow(path: Path) -> Any:
    """An Arrow file: the stream format ``datasets`` writes, or Arrow's IPC file format."""
    import datasets
    import pyarrow as pa

    try:
        return datasets.Dataset.from_file(str(path))
    except (pa.ArrowInvalid, OSError):
        with pa.memory_map(str(path)) as source:
            return datasets.Dataset(pa.ipc.open_file(source).read_all())


def _one_split(loaded: Any, source: str) -> Any:
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        return loaded
    if "train" in loaded:
        return loaded["train"]
    if len(loaded) == 1:
        return next(iter(loaded.values()))
    raise HammerError(f"holds the splits {', '.join(loaded)}: save the one to read on its own", file=source)


def _pruned(value: Any) -> Any:
    """A row value without the ``None`` entries Arrow's struct columns fill in."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    import json

    row = _pruned(raw)
    if "messages" in row:  # OpenAI/TRL rows: JSON-text columns decoded
        for column in _JSON_COLUMNS:
            if isinstance(row.get(column), str):
                try:
                    row[column] = json.loads(row[column])
                except json.JSONDecodeError as err:
                    raise HammerError(f"not valid JSON: {err}", field=column) from None
    return row


def dataset_format(source: str | Path) -> str:
    """The format of a data set's rows, from its first row (as for a file)."""
    from hammer_fc.formats import format_of_record

    dataset = load_dataset_source(str(source))
    if len(dataset) == 0:
        raise HammerError("the data set has no rows: nothing to detect a format from", file=str(source))
    return format_of_record(_row(dataset[0]), file=str(source))


def iter_dataset(source: str | Path, fmt: str) -> Iterator[Example | HammerError]:
    """Every row of the data set as an Example (or the located error of a malformed row)."""
    from hammer_fc.formats.openai import example_from_openai
    from hammer_fc.formats.paper import example_from_paper
    from hammer_fc.formats.xlam import example_from_xlam

    readers = {"xlam": example_from_xlam, "openai": example_from_openai, "paper": example_from_paper}
    if fmt not in readers:
        raise HammerError(f"a data set is read as {', '.join(readers)}, not {fmt}", file=str(source))
    convert = readers[fmt]
    text = str(source)
    name = Path(_split_spec(text.removeprefix(HF_PREFIX))[0] if text.startswith(HF_PREFIX) else text)
    for index, raw in enumerate(load_dataset_source(str(source))):
        try:
            yield convert(_row(raw), index, name)
        except HammerError as err:
            yield err.located(file=str(source), record=index)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            yield HammerError(
                f"malformed record ({type(err).__name__}: {err})", file=str(source), record=index
            )
