"""The model file: JSON that ``Module.save()`` writes and ``load()``/``from_file()`` read.

::

    {"format": "chainrule-model", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 1], "activation": "relu"},
     "options": {"fused": false},
     "parameters": {"layers.0.neurons.0.w.0": 0.1234, ...}}

Readable, diffable, never pickle (a pickle runs code when loaded). Reading checks
everything before anything is built or changed, and refuses with ``ModelFileError``
naming the file; writing goes through a private temporary file and an atomic rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .._checks import describe, number

PathLike = Union[str, "os.PathLike[str]"]

FORMAT = "chainrule-model"
FORMAT_VERSION = 1  # bump it when the layout changes
# A model file nests three levels deep (document, architecture, nouts); anything much
# deeper is not a model file, and walking it could exhaust Python's recursion limit.
MAX_FILE_DEPTH = 16
# Ten million Values take over a gigabyte and hours per epoch in a scalar engine: any
# file that claims more is damaged or hostile, so it is refused before anything is built.
MAX_PARAMETERS = 10_000_000
# One parameter is one line, '  "layers.9.neurons.99.w.99": -1.2345678901234567e-05,'
# (under 70 bytes); 256 leaves room for hand edits. A file much larger than its
# architecture needs is refused from its size on disk, before it is read whole.
BYTES_PER_PARAMETER = 256
HEADER_BYTES = 64 * 1024


class ModelFileError(ValueError):
    """A saved model that cannot be loaded: not UTF-8 JSON, truncated, or for another model."""


def max_file_size(n_parameters: int) -> int:
    return HEADER_BYTES + n_parameters * BYTES_PER_PARAMETER


# ------------------------------------------------------------------------------ reading


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def open_model_file(path: PathLike) -> Tuple[Any, int]:
    """``(binary file, size)`` for a regular file; anything else is refused, never waited on.

    ``O_NONBLOCK``: opening a FIFO for reading would otherwise wait for a writer forever.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModelFileError(f"{path}: not a model file: it is {_file_kind(info.st_mode)}, "
                             "not a regular file")
    return os.fdopen(fd, "rb"), info.st_size


def read_limited(f: Any, size: int, limit: int, path: PathLike, why: str,
                 head: bytes = b"") -> bytes:
    """The whole file (``head``: what was already read), refused from its size alone
    when it exceeds ``limit``."""
    if size > limit:
        raise ModelFileError(f"{path}: the file is {size} bytes, more than {why} can need "
                             f"(at most {limit} bytes); not read")
    raw = head + f.read(limit + 1 - len(head))
    if len(raw) > limit:  # it grew while we looked
        raise ModelFileError(f"{path}: the file is over {limit} bytes, more than {why} "
                             "can need; not read")
    return raw


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """json's object hook: a repeated key is an error, not "the last one wins"."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def peek_architecture(head: bytes) -> Optional[Dict[str, Any]]:
    """The ``architecture`` object when it comes before ``parameters`` in the first bytes.

    ``save()`` writes it first, so a model's size can be known from the first few
    kilobytes; ``None`` when it cannot be found there (then only the global limit applies).
    """
    text = head.decode("utf-8", errors="replace")
    ws = " \t\n\r"
    try:
        i = len(text) - len(text.lstrip(ws))
        if text[i] != "{":
            return None
        i += 1
        while True:
            while text[i] in ws:
                i += 1
            key, i = _DECODER.raw_decode(text, i)
            while text[i] in ws:
                i += 1
            if key == "parameters" or text[i] != ":":
                return None
            i += 1
            while text[i] in ws:
                i += 1
            value, i = _DECODER.raw_decode(text, i)
            if key == "architecture":
                return value if isinstance(value, dict) else None
            while text[i] in ws:
                i += 1
            if text[i] != ",":
                return None
            i += 1
    except (ValueError, IndexError, RecursionError, _DuplicateKey):
        return None


def parse_model_file(raw: bytes, path: PathLike) -> Dict[str, Any]:
    """The checked envelope of a model file; parameters are checked by the caller."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not a model file: not UTF-8 text "
                             f"({error.reason} at byte {error.start})") from None
    try:
        doc = _DECODER.decode(text)
    except _DuplicateKey as error:
        raise ModelFileError(f"{path}: not a model file: the key {error.key!r} appears twice "
                             "in one object (keys must be unique)") from None
    except json.JSONDecodeError as error:
        body = text.strip()
        cut_short = not body or (body.startswith("{") and not body.endswith("}"))
        hint = " (the file looks truncated)" if cut_short else ""
        raise ModelFileError(f"{path}: not valid JSON{hint}: {error}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: not a model file: its JSON is nested too deeply") from None
    except ValueError as error:  # any other decoding failure, e.g. a 5000-digit integer
        raise ModelFileError(f"{path}: not valid JSON: {error}") from None
    if _nested_deeper_than(doc, MAX_FILE_DEPTH):
        raise ModelFileError(f"{path}: not a model file: its JSON is nested more than "
                             f"{MAX_FILE_DEPTH} levels deep")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a chainrule model file "
                             f"(expected a JSON object with \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if type(version) is not int:  # true == 1 and 1.0 == 1 in Python; neither is a version
        raise ModelFileError(f"{path}: the format version must be an integer, "
                             f"got {describe(version)}")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unsupported format version {version} "
                             f"(this chainrule reads version {FORMAT_VERSION})")
    for key in ("architecture", "parameters"):
        if not isinstance(doc.get(key), dict):
            raise ModelFileError(f"{path}: {key!r} must be a JSON object, "
                                 f"got {describe(doc.get(key))}")
    unknown = sorted(set(doc) - {"format", "version", "architecture", "options", "parameters"})
    if unknown:
        raise ModelFileError(f"{path}: not a model file: unknown key(s) "
                             f"{', '.join(map(repr, unknown))}")
    return doc


def _nested_deeper_than(doc: Any, limit: int) -> bool:
    """Whether lists/objects in ``doc`` nest more than ``limit`` levels (no recursion)."""
    stack = [(doc, 1)] if isinstance(doc, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def checked_options(options: Any, types: Dict[str, type], kind: str, where: str) -> Dict[str, Any]:
    """The file's ``options``: only known keys, each of its exact JSON type."""
    if not isinstance(options, dict):
        raise ModelFileError(f"{where}: 'options' must be a JSON object, got {describe(options)}")
    for key, value in options.items():
        if key not in types:
            known = ", ".join(map(repr, types)) or "none"
            raise ModelFileError(f"{where}: unknown option {key!r} (a {kind} has the options "
                                 f"{known})")
        if type(value) is not types[key]:
            expected = "true or false" if types[key] is bool else f"a {types[key].__name__}"
            raise ModelFileError(f"{where}: option {key!r} must be {expected}, "
                                 f"got {describe(value)}")
    return options


def checked_values(names: Sequence[str], state: Any, where: str) -> List[float]:
    """The new values in ``names``' order, after checking all of them (linear time)."""
    if not isinstance(state, dict):
        raise ModelFileError(f"{where}: parameters must be a name -> number mapping, "
                             f"got {describe(state)}")
    if len(state) != len(names) or not all(n in state for n in names):
        wanted = set(names)
        missing = [n for n in names if n not in state]
        unexpected = [n for n in state if n not in wanted]
        parts = [f"expected {len(names)} parameters, got {len(state)}"]
        if missing:
            parts.append(f"missing {_some(missing)}")
        if unexpected:
            parts.append(f"unexpected {_some(unexpected)}")
        raise ModelFileError(f"{where}: " + "; ".join(parts))
    values = []
    for name in names:
        x = state[name]
        if type(x) is float and x - x == 0.0:  # the common case, finite: no call
            values.append(x)
            continue
        try:
            values.append(number(x, f"parameter {name!r}"))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: {error}") from None
    return values


def _some(names: List[Any], limit: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def describe_architecture(arch: Dict[str, Any]) -> str:
    args = ", ".join(f"{k}={_short(v)}" for k, v in arch.items() if k != "type")
    kind = arch.get("type")
    return f"{kind if isinstance(kind, str) and len(kind) <= 60 else _short(kind)}({args})"


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:45] + "..." + text[-10:]


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: ``2.0`` is not ``2`` and ``true`` is not ``1`` (Python says they are)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ------------------------------------------------------------------------------ writing


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it can only be read by
    setting it, so two of our saves must not do that at once (each would restore the
    other's 0)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def write_model_file(doc: Dict[str, Any], path: PathLike) -> None:
    """Write ``doc`` to ``path`` so that a reader only ever sees a whole old or whole new file.

    Each save writes its own temporary file in the target's directory (``mkstemp``),
    then renames it over the target (atomic on POSIX and Windows): concurrent saves
    never share a file and the last one to finish wins. A symlink is followed, as
    ``torch.save`` follows it: its target gets the model and the link stays.
    """
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    tmp = None
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)  # keep an existing file's mode
        except OSError:
            mode = 0o666 & ~_umask()  # what open(path, "w") would have given
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as error:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        if isinstance(error, OSError) and error.errno is not None:
            reason = error.strerror or str(error)
            if os.path.isdir(target):
                reason = "it is a directory"
            raise type(error)(error.errno, f"cannot save the model to "
                                           f"{os.fspath(path)!r}: {reason}") from error
        raise
