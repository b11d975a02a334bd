"""The kernels' on-disk Numba cache is emptied when any kernel source changes (Numba itself
checks only the file of each compiled function, not the files of what it inlines)."""

from spikesim.kernels import cpu as KC

from spikesim import kernels, network


def test_the_cache_is_emptied_when_any_kernel_source_changes(tmp_path):
    src, cache = tmp_path / "kernels", tmp_path / "kernels" / "__pycache__"
    cache.mkdir(parents=True)
    (src / "cpu.py").write_text("from .rng import draw\n")
    (src / "rng.py").write_text("def draw(): return 1\n")
    compiled = [cache / "cpu.run-1.py311.nbi", cache / "cpu.run-1.py311.1.nbc"]

    def fill():
        for path in compiled:
            path.write_bytes(b"compiled")

    fill()
    assert kernels.drop_stale_cache(src, cache)  # a cache without a stamp: of unknown sources
    assert not any(p.exists() for p in compiled)
    fill()
    assert not kernels.drop_stale_cache(src, cache)  # the sources it was stamped with
    assert all(p.exists() for p in compiled)
    (src / "rng.py").write_text("def draw(): return 2\n")  # only the inlined file changes
    assert kernels.drop_stale_cache(src, cache)
    assert not any(p.exists() for p in compiled)
    assert (src / "cpu.py").exists() and (cache / kernels.STAMP).exists()


def test_a_cache_that_cannot_be_written_is_left_alone(tmp_path):
    src = tmp_path / "kernels"
    src.mkdir()
    (src / "cpu.py").write_text("x = 1\n")
    blocked = src / "__pycache__"
    blocked.write_text("a file where the folder would be")
    assert not kernels.drop_stale_cache(src, blocked)
    assert blocked.read_text() == "a file where the folder would be"


def test_the_package_stamped_its_own_cache():
    folder = kernels._cache_folder(kernels._here)
    assert (folder / kernels.STAMP).read_text() == kernels._digest(kernels._here)


def test_under_numba_cache_dir_the_stamped_folder_is_numbas(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR set the kernels' cache folder is the one Numba's own locator picks
    (found by its name on every supported Numba: public since 0.62, ``_``-prefixed before)."""
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    folder = kernels._cache_folder(kernels._here)
    assert folder.parent == tmp_path and folder.name.startswith(kernels._here.name + "_")


# (The compile lock is taken in the folder Numba caches the kernels in.)
def test_compile_lock_in_numba_cache_folder(tmp_path, monkeypatch):
    # (a read-only install: Numba caches in ~/.cache/numba/..., not in its __pycache__)
    monkeypatch.setattr(KC.run_chunk_serial._cache, "_cache_path", str(tmp_path / "user"))
    with network._compile_lock():
        pass
    assert (tmp_path / "user" / "spikesim-compile.lock").exists()
