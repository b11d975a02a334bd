"""Compiled kernels: the scalar model updates and the loops that run them (CPU and CUDA).

Numba's on-disk cache (``cache=True``) checks only the source file of each compiled function,
not the files of the functions inlined into it: after an edit of ``rng.py`` alone (a
``git pull``, an editable install), the cached kernels of ``cpu.py`` would still run the old
draws. So importing this package empties the cache of every kernel whenever any of its
source files has changed (:func:`drop_stale_cache`); they then compile again, once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core import caching, config

STAMP = "sources.sha256"  # in the cache folder: the digest of the sources it was compiled from


def drop_stale_cache(sources: Path, cache: Path) -> bool:
    """Delete Numba's cache files (``*.nbi``, ``*.nbc``) in folder ``cache`` unless its stamp
    matches the digest of the ``*.py`` files of folder ``sources``, then stamp it; returns
    whether anything was deleted. Does nothing where the cache cannot be written (an install
    in a read-only folder: Numba then caches elsewhere, and installed sources do not change
    in place)."""
    digest = _digest(sources)
    stamp = cache / STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:  # no stamp yet (a new cache, or one from before stamps)
        pass
    try:
        stale = list(cache.glob("*.nb[ic]"))
        for path in stale:
            path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return bool(stale)


def _digest(sources: Path) -> str:
    """The SHA-256 (hex) of the names and contents of the ``*.py`` files of folder ``sources``."""
    digest = hashlib.sha256()
    for path in sorted(sources.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _cache_folder(here: Path) -> Path:
    """Where Numba caches the kernels of folder ``here``: below ``NUMBA_CACHE_DIR`` where it
    is set, else in ``__pycache__`` beside the sources."""
    if config.CACHE_DIR:
        locator = getattr(caching, "UserProvidedCacheLocator", None) or \
            caching._UserProvidedCacheLocator  # (public since Numba 0.62)
        return Path(config.CACHE_DIR) / locator.get_suitable_cache_subpath(str(here / "cpu.py"))
    return here / "__pycache__"


_here = Path(__file__).resolve().parent
drop_stale_cache(_here, _cache_folder(_here))
