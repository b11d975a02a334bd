"""Network files: arrays read from NumPy files (``{ file = "x.npy" }``) and the ``spike_array``
input."""

import numpy as np
import pytest

import spikesim as ss
from spikesim import cli, netfile

NET = """
[network]
dt = 1e-3
duration = 0.08
seed = 5
batch = 2

[[population]]
name = "out"
model = "LIF"
n = 6
params = {{ tau_mem = 0.01, tau_syn = 0.005, v_th = 0.3, units = "1" }}

[[input]]
name = "given"
kind = "spike_array"
params = {{ spikes = {spikes} }}

[[input]]
name = "coded"
kind = "rate_coded"
params = {{ data = {data} }}

[[projection]]
pre = "given"
post = "out"
rule = "one_to_one"
weight = 0.9

[[projection]]
pre = "coded"
post = "out"
rule = "all_to_all"
weight = 0.2

[[record]]
kind = "spikes"
population = "out"

[[record]]
kind = "spikes"
population = "given"
"""


def arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spikes (T, B, n) bool and per-step probabilities (T, n) for :data:`NET`."""
    rng = np.random.default_rng(seed)
    return rng.random((60, 2, 6)) < 0.2, rng.random((50, 4)) * 0.5


def python_network(spikes: np.ndarray, data: np.ndarray) -> tuple[ss.Network, list]:
    """:data:`NET` built in Python, its members added in the file's order."""
    net = ss.Network(dt=1e-3, seed=5, batch=2)
    out = net.add(ss.LIF(6, tau_mem=0.01, tau_syn=0.005, v_th=0.3, units="1"), name="out")
    given = net.add(ss.SpikeArray(spikes), name="given")
    coded = net.add(ss.RateCoded(data), name="coded")
    net.connect(given, out, "one_to_one", weight=0.9)
    net.connect(coded, out, "all_to_all", weight=0.2)
    monitors = [net.add(ss.SpikeMonitor(out)), net.add(ss.SpikeMonitor(given))]
    net.run(0.08)
    return net, monitors


def same_spikes(a: ss.Spikes, b: ss.Spikes) -> None:
    assert len(a) > 10
    for field in ("times", "ids", "realizations"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_arrays_from_files_beside_the_network_file_equal_the_python_network(tmp_path,
                                                                            monkeypatch):
    spikes, data = arrays()
    folder = tmp_path / "net"
    folder.mkdir()
    np.save(folder / "spikes.npy", spikes)
    np.savez(folder / "set.npz", train=data, test=data[:3])
    path = folder / "net.toml"
    path.write_text(NET.format(spikes='{ file = "spikes.npy" }',
                               data='{ file = "set.npz", key = "train" }'))
    monkeypatch.chdir(tmp_path)  # (not the file's folder: relative paths are read from there)
    built = netfile.load_network(path)
    assert built.objects["given"].spikes.dtype == np.bool_  # (not widened to float64)
    built.net.run(built.duration)
    _, monitors = python_network(spikes, data)
    for (_, got), want in zip(built.monitors, monitors):
        same_spikes(got.spikes, want.spikes)


def test_inline_spike_array_of_zeros_and_ones_and_three_level_rate_coded():
    spikes, data = arrays(1)
    batched = np.stack([data, data[::-1]], axis=1)  # (T, B, n): another image per realization
    spec = netfile.parse(NET.format(spikes=spikes.astype(int).tolist(),
                                    data=batched.tolist()))
    built = netfile.build(spec)
    built.net.run(built.duration)
    _, monitors = python_network(spikes, batched)
    for (_, got), want in zip(built.monitors, monitors):
        same_spikes(got.spikes, want.spikes)


def test_n_of_a_data_source_must_match_its_last_axis():
    spikes, data = arrays()
    text = NET.format(spikes=spikes.astype(int).tolist(), data=data.tolist()).replace(
        'kind = "spike_array"', 'kind = "spike_array"\nn = 5')
    with pytest.raises(netfile.NetFileError, match=r"input\[0\]\.n: n = 5 but params.spikes "
                                                   r"has 6 units"):
        netfile.build(netfile.parse(text))


def test_a_file_given_by_set_is_read_from_the_current_directory(tmp_path, monkeypatch):
    spikes, data = arrays()
    (tmp_path / "net").mkdir()
    path = tmp_path / "net" / "net.toml"
    path.write_text(NET.format(spikes=spikes.astype(int).tolist(), data=data.tolist()))
    np.save(tmp_path / "other.npy", data[:, ::-1])
    monkeypatch.chdir(tmp_path)
    spec = netfile.read(path, ['coded.params.data={ file = "other.npy" }'])
    inp = next(i for i in spec.inputs if i.fields["name"] == "coded")
    np.testing.assert_array_equal(inp.params["data"], data[:, ::-1])


def write(folder, name: str, content) -> None:
    if isinstance(content, bytes):
        (folder / name).write_bytes(content)
    elif isinstance(content, dict):
        np.savez(folder / name, **content)
    else:
        np.save(folder / name, content, allow_pickle=True)


BAD_FILES = {  # value of params.data: (files to write, key path, words of the message)
    "missing": ('{ file = "none.npy" }', {}, "input[1].params.data.file",
                "no such file: {folder}/none.npy (a relative path is read from {folder})"),
    "not npy": ('{ file = "a.csv" }', {}, "input[1].params.data.file",
                'expected the path of a .npy or .npz file, got "a.csv"'),
    "text in a .npy": ('{ file = "a.npy" }', {"a.npy": b"0.1, 0.2\n"},
                       "input[1].params.data.file", "not a file NumPy writes"),
    "pickled objects": ('{ file = "a.npy" }', {"a.npy": np.array([{"x": 1}], dtype=object)},
                        "input[1].params.data.file", "Object arrays cannot be loaded"),
    "npz without key": ('{ file = "a.npz" }', {"a.npz": {"x": np.ones(4), "y": np.ones(4)}},
                        "input[1].params.data.key", "holds 2 arrays: give key = one of x, y"),
    "npz misspelled key": ('{ file = "a.npz", key = "trian" }',
                           {"a.npz": {"train": np.ones(4), "test": np.ones(4)}},
                           "input[1].params.data.key",
                           'no array "trian" in {folder}/a.npz (did you mean "train"?); it '
                           "holds: train, test"),
    "key of a .npy": ('{ file = "a.npy", key = "x" }', {"a.npy": np.ones(4)},
                      "input[1].params.data.key", "a .npy file holds one array"),
    "unknown key": ('{ file = "a.npy", mmap = true }', {"a.npy": np.ones(4)},
                    "input[1].params.data.mmap", "unknown key in an array file table"),
    "strings": ('{ file = "a.npy" }', {"a.npy": np.array(["a", "b"])},
                "input[1].params.data", "got an array of shape (2,) (<U1) from a file"),
    "4 dimensions": ('{ file = "a.npy" }', {"a.npy": np.ones((2, 2, 2, 2))},
                     "input[1].params.data", "(1, 2 or 3 levels of nesting)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_array_files_give_one_line_naming_the_key(case, tmp_path, capsys):
    value, files, key, words = BAD_FILES[case]
    spikes, _ = arrays()
    for name, content in files.items():
        write(tmp_path, name, content)
    path = tmp_path / "net.toml"
    path.write_text(NET.format(spikes=spikes.astype(int).tolist(), data=value))
    status = cli.main(["check", str(path)])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{path}: {key}: " in err, err
    assert words.format(folder=tmp_path) in err, err


@pytest.mark.parametrize("ids, words", [
    ("[18446744073709551616]", "expected an array of integers >= 0"),
    ("[1.5]", "expected an array of integers >= 0"),
    ("[" * 40 + "1" + "]" * 40, "expected an array of integers >= 0"),
])
def test_ids_beyond_int64_or_nested_deep_are_refused_in_one_line(ids, words):
    spikes, data = arrays()
    text = NET.format(spikes=spikes.astype(int).tolist(), data=data.tolist())
    with pytest.raises(netfile.NetFileError, match=r"record\[1\]\.ids: " + words):
        netfile.parse(text.replace('population = "given"', f'population = "given"\nids = {ids}'))
