"""Network files: arrays read from NumPy files (``{ file = "x.npy" }``) and the ``spike_array``
input."""

import io
import zipfile

import numpy as np
import numpy.lib.format as npformat
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


def small_net(v_th: str = "0.3", batch: int = 1, data: str | None = None,
              kind: str = "rate_coded", param: str = "data") -> str:
    """A network file: population "p" of 2 LIF neurons and, given ``data`` (TOML), the spike
    source "coded" of ``kind`` whose ``param`` it is."""
    text = (f'[network]\ndt = 1e-3\nduration = 0.01\nbatch = {batch}\n\n[[population]]\n'
            f'name = "p"\nmodel = "LIF"\nn = 2\nparams = {{ v_th = {v_th}, units = "1" }}\n')
    if data is not None:
        text += (f'\n[[input]]\nname = "coded"\nkind = "{kind}"\n'
                 f"params = {{ {param} = {data} }}\n")
    return text


# --- Array files that are misnamed, damaged or far too large: one line naming the key, never a
# traceback or an error without it (review of the NumPy-file feature).
def npy_bytes(header_shape=None) -> bytes:
    """A .npy of 3 values; ``header_shape``: the shape its header claims instead."""
    buf = io.BytesIO()
    if header_shape is None:
        np.save(buf, np.full(3, 0.1))
    else:
        npformat.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                              "shape": header_shape})
        buf.write(b"\0" * 64)
    return buf.getvalue()


def zip_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


CASES = {  # value of params.data, bytes of the file, key path, words of the message
    "npy named .npz": ('{ file = "a.npz" }', npy_bytes(), "data.file", "name it .npy"),
    "npz named .npy": ('{ file = "a.npy" }', zip_bytes({"x.npy": npy_bytes()}), "data.file",
                       "name it .npz"),
    "damaged npz": ('{ file = "a.npz" }', b"PK\x03\x04" + b"\0" * 40, "data.file",
                    "cannot read"),
    "npy shape beyond memory": ('{ file = "a.npy" }', npy_bytes((10**13, 3)), "data.file",
                                "cannot read"),
    "npz shape beyond memory": ('{ file = "a.npz" }', zip_bytes({"x.npy": npy_bytes((10**13, 3))}),
                                "data.file", "cannot read"),
    "npz member not npy": ('{ file = "a.npz", key = "notes.txt" }',
                           zip_bytes({"notes.txt": b"hello", "x.npy": npy_bytes()}),
                           "data.file", "notes.txt is not an array np.savez wrote"),
    "npz of many arrays": ('{ file = "a.npz" }',
                           zip_bytes({f"arr_{i}.npy": npy_bytes() for i in range(500)}),
                           "data.key", "arr_9, ... (500 in all)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_or_misnamed_array_files_give_one_short_line(case, tmp_path, capsys):
    data, content, key, words = CASES[case]
    (tmp_path / data.split('"')[1]).write_bytes(content)
    path = tmp_path / "net.toml"
    path.write_text(small_net(data=data))
    status = cli.main(["check", str(path)])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and len(err) < 600, err
    assert f"{path}: input[0].params.{key}: " in err, err
    assert words in err, err


# --- A (T, B, n) spike_array or rate_coded of another B than the network's batch: the error
# names the data's key, not [network] (review of the NumPy-file feature).
@pytest.mark.parametrize("kind, param, data", [
    ("spike_array", "spikes", np.zeros((5, 3, 4), bool)),
    ("rate_coded", "data", np.full((5, 3, 4), 0.1)),
])
def test_data_of_another_batch_names_its_key(kind, param, data, tmp_path):
    np.save(tmp_path / "x.npy", data)
    path = tmp_path / "net.toml"
    path.write_text(small_net(batch=2, data='{ file = "x.npy" }', kind=kind, param=param))
    with pytest.raises(netfile.NetFileError,
                       match=rf"input\[0\]\.params\.{param}: shape \(5, 3, 4\) holds 3 "
                             r"realizations .* network\.batch = 2"):
        netfile.build(netfile.read(path))
    assert netfile.build(netfile.read(path, ["network.batch=3"])).net.batch == 3


# --- Arrays or tables nested beyond what tomllib can parse: one line, not a RecursionError
# (review of the NumPy-file feature).
@pytest.mark.parametrize("value", ["[" * 3000 + "1" + "]" * 3000,
                                   "{ a = " * 3000 + "1" + " }" * 3000])
@pytest.mark.parametrize("where", ["file", "set"])
def test_deep_nesting_is_refused_in_one_line(value, where, tmp_path, capsys):
    path = tmp_path / "net.toml"
    path.write_text(small_net(v_th=value if where == "file" else "0.3"))
    extra = ["--set", f"p.params.v_th={value}"] if where == "set" else []
    status = cli.main(["check", str(path), *extra])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and "nested too deeply" in err and str(path) in err, err


# --- An array from a file refused for one of its values (not finite, below the least accepted):
# the error says which and where (review of the NumPy-file feature).
NET_OFFENDING = """
[network]
dt = 1e-3
duration = 0.01

[[population]]
name = "p"
model = "LIF"
n = 4
params = { v_th = VTH, units = "1" }

[[input]]
name = "coded"
kind = "rate_coded"
params = { data = DATA }

[[projection]]
pre = "coded"
post = "p"
rule = "explicit"
pre_ids = PRE
post_ids = [0, 1]
weight = 0.1
"""
GOOD = {"VTH": "0.3", "DATA": "[0.1, 0.2]", "PRE": "[0, 1]"}


@pytest.mark.parametrize("key, array, path, words", [
    ("VTH", np.array([0.3, 0.3, np.nan, 0.3]), r"population\[0\]\.params\.v_th",
     r"\(offending value nan at \[2\]\)"),
    ("DATA", np.array([[0.1, 0.2], [0.1, np.inf]]), r"input\[0\]\.params\.data",
     r"\(offending value inf at \[1, 1\]\)"),
    ("PRE", np.array([0, -1]), r"projection\[0\]\.pre_ids", r"\(offending value -1 at \[1\]\)"),
])
def test_a_refused_value_of_an_array_file_is_named(key, array, path, words, tmp_path):
    np.save(tmp_path / "x.npy", array)
    text = NET_OFFENDING
    for k, v in {**GOOD, key: '{ file = "x.npy" }'}.items():
        text = text.replace(k, v)
    (tmp_path / "net.toml").write_text(text)
    with pytest.raises(netfile.NetFileError, match=path + ": .*from a file " + words):
        netfile.read(tmp_path / "net.toml")


# --- --set: array files it names are read from the current directory, however the value names
# them (review of the NumPy-file feature).
@pytest.mark.parametrize("setting", [
    'coded.params.data={ file = "rates.npy" }',
    'coded.params={ data = { file = "rates.npy" } }',
    "coded.params.data.file=rates.npy",
    'input[0].params.data.file="rates.npy"',
])
def test_set_reads_array_files_from_the_current_directory(setting, tmp_path, monkeypatch):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "net.toml").write_text(small_net(data='{ file = "rates.npy" }'))
    np.save(tmp_path / "net" / "rates.npy", np.full(3, 0.1))  # beside the file: not this one
    (tmp_path / "here").mkdir()
    np.save(tmp_path / "here" / "rates.npy", np.full(5, 0.2))
    monkeypatch.chdir(tmp_path / "here")
    spec = netfile.read(tmp_path / "net" / "net.toml", [setting])
    np.testing.assert_array_equal(spec.inputs[0].params["data"], np.full(5, 0.2))


def test_without_set_the_file_beside_the_network_file_is_read(tmp_path, monkeypatch):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "net.toml").write_text(small_net(data='{ file = "rates.npy" }'))
    np.save(tmp_path / "net" / "rates.npy", np.full(3, 0.1))
    monkeypatch.chdir(tmp_path)
    spec = netfile.read(tmp_path / "net" / "net.toml")
    np.testing.assert_array_equal(spec.inputs[0].params["data"], np.full(3, 0.1))


def test_a_batch_of_rows_given_as_steps_warns_naming_the_key():
    """Rate-coded (B, n) data with batch = B is read as B steps of one image each, the same in
    every realization (then silence): a warning names the key and the (T, B, n) to give."""
    spikes, data = arrays()
    images = data[:2]  # (2, 4): two "images", batch = 2
    text = NET.format(spikes=spikes.astype(int).tolist(), data=images.tolist())
    with pytest.warns(RuntimeWarning, match=r"input\[1\]\.params\.data: shape \(2, 4\) is read "
                                            r"as 2 steps of 4 units.*give \(T, 2, 4\)"):
        netfile.build(netfile.parse(text))


def test_an_unsigned_id_beyond_int64_is_named(tmp_path):
    np.save(tmp_path / "t.npy", np.array([0.001, 0.002, 0.003]))
    np.save(tmp_path / "i.npy", np.array([0, 1, 2**64 - 1], np.uint64))
    text = ('[network]\ndt = 1e-3\nduration = 0.01\n[[input]]\nname = "s"\nkind = "spike_times"\n'
            'n = 4\nparams = { times = { file = "t.npy" }, ids = { file = "i.npy" } }\n')
    with pytest.raises(netfile.NetFileError,
                       match=r"offending value 18446744073709551615 at \[2\]"):
        netfile.parse(text, "n.toml", folder=tmp_path)
