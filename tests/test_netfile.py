"""Network files (spikesim.netfile): the shipped examples build, a file gives the same network
as Python code, and broken or mutated files give one-line errors with exit status 2."""

import random
import re
from pathlib import Path

import numpy as np
import pytest

import spikesim as ss
from spikesim import cli, layout, netfile, networks
from spikesim.demo import DEMO_TOML

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOMLS = sorted(EXAMPLES.glob("*.toml"))
ERROR = re.compile(r"^spikesim check: error: (?P<file>\S+): (?P<rest>.+)$")


def check(path, capsys) -> tuple[int, str, str]:
    """``spikesim check PATH`` in-process: (status, stdout, stderr)."""
    status = cli.main(["check", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def same_spikes(a: ss.Spikes, b: ss.Spikes) -> None:
    assert len(a) > 0
    for field in ("times", "ids", "realizations"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_examples_are_shipped_and_build():
    names = {p.name for p in TOMLS}
    assert {"lif_tutorial.toml", "lapicque.toml", "noisy_lif.toml", "cuba.toml",
            "brunel.toml"} <= names
    for path in TOMLS:
        built = netfile.load_network(path)
        assert built.net.tables is not None and built.monitors
    cuba = netfile.load_network(EXAMPLES / "cuba.toml")
    exc, inh = cuba.objects["exc"], cuba.objects["inh"]
    assert (exc.n, inh.n) == (3200, 800) and exc.tau_syn_inh == 10e-3
    assert [p.receptor for p in cuba.net.projections] == ["i", "i", "i_inh", "i_inh"]
    we, wi = 60 * 0.27 / 10 * 1e-3, -20 * 4.5 / 10 * 1e-3  # bit for bit as networks.cuba's
    assert [p.weight for p in cuba.net.projections] == [we, we, wi, wi]
    noisy = netfile.load_network(EXAMPLES / "noisy_lif.toml").net.currents[0]
    assert noisy.half_width == 25e-11 * 0.1 * np.sqrt(0.150 / 1e-3)  # examples/noisy_lif.py's
    assert netfile.build(netfile.parse(DEMO_TOML, "<demo>")).net.tables is not None


def test_lif_tutorial_file_equals_the_python_network():
    """examples/lif_tutorial.toml is population() of examples/lif_tutorial.py."""
    built = netfile.load_network(EXAMPLES / "lif_tutorial.toml")
    built.net.run(built.duration)
    from_file = built.monitors[0][1].spikes
    v_file = built.monitors[1][1].trace("v")

    net = ss.Network(dt=1e-3, seed=0)
    lif = net.add(ss.LIF(1000, tau_mem=1 / 100, tau_syn=1 / 200, v_leak=0.0, v_reset=0.0,
                         v_th=0.3, units="1"), name="lif")
    inp = net.add(ss.BernoulliInput(1000, p=0.01), name="input")
    net.connect(inp, lif, "one_to_one", weight=1.0)
    spikes = net.add(ss.SpikeMonitor(lif))
    state = net.add(ss.StateMonitor(lif, ["v", "i"], ids=[0, 1, 2]))
    net.run(1.0)
    same_spikes(from_file, spikes.spikes)
    np.testing.assert_array_equal(v_file.values, state.trace("v").values)


def test_noisy_lif_file_equals_the_python_network():
    """examples/noisy_lif.toml is run(10e-3) of examples/noisy_lif.py: 500 realizations."""
    built = netfile.load_network(EXAMPLES / "noisy_lif.toml")
    built.net.run(built.duration)

    net = ss.Network(dt=1e-3, seed=7, batch=500)
    lif = net.add(ss.RC(1, R=100e6, tau=20e-3, E_L=-60e-3, v_th=-50e-3, v_reset=-70e-3,
                        refractory=10e-3), name="lif")
    net.add(ss.UniformNoiseCurrent(lif, mean=25e-11, half_width=25e-11 * 0.1 * np.sqrt(150)))
    spikes = net.add(ss.SpikeMonitor(lif))
    net.run(0.150)
    same_spikes(built.monitors[0][1].spikes, spikes.spikes)
    assert set(spikes.spikes.realizations.tolist()) > {0, 499}


def test_a_poisson_drive_in_a_file_equals_the_python_one():
    built = netfile.build(netfile.parse("""
[network]
dt = 1e-4
duration = 0.05
seed = 2

[[population]]
name = "exc"
model = "LIF"
n = 50
params = { tau_mem = 20e-3, tau_syn = 5e-3, v_th = 0.5, tau_syn_inh = 8e-3, units = "1" }

[[input]]
kind = "poisson_drive"
target = "exc"
params = { rate = 20000.0, weight = 0.2 }

[[input]]
kind = "poisson_drive"
target = "exc"
params = { rate = 5000.0, weight = -0.1, receptor = "i_inh" }

[[record]]
kind = "spikes"
population = "exc"
""", "<drive>"))
    built.net.run(built.duration)

    net = ss.Network(dt=1e-4, seed=2)
    exc = net.add(ss.LIF(50, tau_mem=20e-3, tau_syn=5e-3, v_th=0.5, tau_syn_inh=8e-3,
                         units="1"), name="exc")
    net.add(ss.PoissonDrive(exc, rate=20000.0, weight=0.2))
    net.add(ss.PoissonDrive(exc, rate=5000.0, weight=-0.1, receptor="i_inh"))
    spikes = net.add(ss.SpikeMonitor(exc))
    net.run(0.05)
    assert len(spikes.spikes) > 50
    same_spikes(built.monitors[0][1].spikes, spikes.spikes)


def test_values_distributions_and_overrides():
    spec = netfile.parse("""
        [network]
        dt = 1e-3
        duration = 0.5
        seed = 3
        [[population]]
        name = "a"
        model = "LIF"
        n = 10
        v_init = { distribution = "uniform", low = 0.0, high = 0.5 }
        [population.params]
        refractory = { distribution = "normal", mean = 2e-3, std = 1e-3, low = 0.0 }
        v_th = [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
        [[input]]
        kind = "ou"
        target = "a"
        params = { mean = 1.0, std = 0.5, tau = 5e-3 }
    """)
    built = netfile.build(spec, seed=9, duration=0.25)
    pop = built.objects["a"]
    assert pop.refractory == ss.Normal(2e-3, 1e-3, low=0.0)
    assert pop.v_init == ss.Uniform(0.0, 0.5)
    np.testing.assert_array_equal(pop.v_th, [1.0] * 5 + [2.0] * 5)
    assert built.net.seed == 9 and built.duration == 0.25
    assert isinstance(built.net.currents[0], ss.OUCurrent)
    assert [type(m).__name__ for _, m in built.monitors] == ["SpikeMonitor"]  # the default


def test_nothing_in_a_file_is_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.toml"
    path.write_text(f"""
        [network]
        dt = 1e-3
        duration = 1.0
        [[population]]
        name = "a"
        model = "__import__('os').system('touch {marker}')"
        n = 1
    """)
    status, _, err = check(path, capsys)
    assert status == 2 and not marker.exists()
    assert "population[0].model: expected one of" in err


GOOD = """\
[network]
dt = 1e-4
duration = 0.1
seed = 1

[[population]]
name = "exc"
model = "LIF"
n = 40
params = { tau_mem = 20e-3, tau_syn = 5e-3, v_leak = -49e-3, v_th = -50e-3, v_reset = -60e-3 }

[[input]]
name = "noise"
kind = "poisson"
n = 20
params = { rate = 10.0 }

[[projection]]
pre = "noise"
post = "exc"
rule = "random"
p = 0.1
weight = 1e-3

[[record]]
kind = "rate"
population = "exc"
bin_width = 1e-3
"""

CURRENT = """[[input]]
kind = "constant"
target = "{}"
params = {{ amplitude = 1e-12 }}

"""

BROKEN = {  # name: (replace this, by this, expected key path, words of the message)
    "unknown key": ("n = 40\n", "n = 40\nsize = 3\n", "population[0].size", "unknown key"),
    "unknown param": ("tau_mem =", "tau_membrane =", "population[0].params.tau_membrane",
                      'did you mean "tau_mem"'),
    "wrong type": ("n = 40", 'n = "40"', "population[0].n", "expected an integer"),
    "float count": ("n = 40", "n = 40.0", "population[0].n", "expected an integer"),
    "out of range": ("p = 0.1", "p = 1.5", "projection[0].p", "<= 1"),
    "negative tau": ("tau_mem = 20e-3", "tau_mem = -20e-3", "population[0].params.tau_mem",
                     "must be > 0"),
    "reset above threshold": ("v_reset = -60e-3", "v_reset = -40e-3",
                              "population[0].params.v_reset", "below v_th"),
    "non-finite": ("dt = 1e-4", "dt = nan", "network.dt", "expected a number > 0"),
    "unknown model": ('model = "LIF"', 'model = "HH"', "population[0].model",
                      'expected one of "LIF"'),
    "unknown population": ('post = "exc"', 'post = "exx"', "projection[0].post",
                           'did you mean "exc"'),
    "projection into an input": ('post = "exc"', 'post = "noise"', "projection[0].post",
                                 "is a spike source"),
    "unknown rule": ('rule = "random"', 'rule = "gaussian"', "projection[0].rule",
                     "expected one of"),
    "p with another rule": ('rule = "random"', 'rule = "all_to_all"', "projection[0].p",
                            'unknown key for rule "all_to_all"'),
    "missing required key": ("duration = 0.1\n", "", "network.duration", "missing required"),
    "missing network": ("[network]\n", "[simulation]\n", "network", "missing required table"),
    "bad TOML": ("seed = 1", "seed = = 1", "", "not valid TOML"),
    "duplicate name": ('name = "noise"', 'name = "exc"', "input[0].name", "already the name"),
    "bad distribution": ("weight = 1e-3", 'weight = { distribution = "cauchy" }',
                         "projection[0].weight", "distribution = one of"),
    "distribution typo": ("weight = 1e-3",
                          'weight = { distribution = "unifrom", low = 0, high = 1e-3 }',
                          "projection[0].weight",
                          'got distribution = "unifrom" (did you mean "uniform"?)'),
    "distribution missing": ("weight = 1e-3", "weight = { low = 0, high = 1e-3 }",
                             "projection[0].weight", "got no distribution key in a table"),
    "param outside params": ("n = 40\n", 'n = 40\nunits = "1"\n', "population[0].units",
                             "units is a parameter of model LIF, so it goes under params"),
    "input param outside params": ("n = 20\n", "n = 20\nrate = 5.0\n", "input[0].rate",
                                   'rate is a parameter of kind "poisson", so it goes under '
                                   "params"),
    "state record of a missing neuron": (
        'kind = "rate"\npopulation = "exc"\nbin_width = 1e-3',
        'kind = "state"\npopulation = "exc"\nids = [3, 40]', "record[0].ids",
        "must be in [0, 39], got 40"),
    "bad receptor": ("weight = 1e-3", 'weight = 1e-3\nreceptor = "i_inh"',
                     "projection[0].receptor", "receptor must be one of 'i'"),
    "unknown input kind": ('kind = "poisson"', 'kind = "gamma"', "input[0].kind",
                           "expected one of"),
    "rate above 1/dt": ("rate = 10.0", "rate = 2e4", "input[0].params.rate", "1/dt"),
    "bin width not whole steps": ("bin_width = 1e-3", "bin_width = 1.05e-4",
                                  "record[0].bin_width", "whole number of steps"),
    "state variable": ('kind = "rate"\npopulation = "exc"\nbin_width = 1e-3',
                       'kind = "state"\npopulation = "exc"\nvariables = ["w"]',
                       "record[0].variables", "variables must be one of"),
    "array of the wrong length": ("v_th = -50e-3", "v_th = [1.0, 2.0]",
                                  "population[0].params.v_th", "shape"),
    "too many steps": ("dt = 1e-4", "dt = 1e-300", "network.duration", "steps"),
    "unknown current target": ("[[projection]]\n", CURRENT.format("nope") + "[[projection]]\n",
                               "input[1].target", 'no population named "nope"; defined: "exc"'),
    "current target typo": ("[[projection]]\n", CURRENT.format("exx") + "[[projection]]\n",
                            "input[1].target", 'no population named "exx" (did you mean "exc"?)'),
    "current into a spike source": ("[[projection]]\n",
                                    CURRENT.format("noise") + "[[projection]]\n",
                                    "input[1].target", '"noise" is a spike source (an input); '
                                                       'expected a population: "exc"'),
    "unknown record population": ('population = "exc"', 'population = "exd"',
                                  "record[0].population",
                                  'no population or spike source named "exd" (did you mean '
                                  '"exc"?); defined: "exc", "noise"'),
    "misspelled required key": ("weight = 1e-3", "wieght = 1e-3", "projection[0].weight",
                                'missing required key: expected a number, an array of numbers, '
                                '{ file = "data.npy" } or a distribution table; unknown key '
                                '"wieght" (did you mean '
                                '"weight"?)'),
    "misspelled record population": ('population = "exc"', 'populaton = "exc"',
                                     "record[0].population",
                                     'unknown key "populaton" (did you mean "population"?)'),
    "misspelled input param": ("rate = 10.0", "rat = 10.0", "input[0].params.rate",
                               'unknown key "rat" (did you mean "rate"?)'),
    "misspelled network table": ("[network]\n", "[netwrk]\n", "network",
                                 'unknown key "netwrk" (did you mean "network"?)'),
    "uniform high below low": ("weight = 1e-3",
                               'weight = { distribution = "uniform", low = 1e-3, high = 0 }',
                               "projection[0].weight",
                               "Uniform.high must be >= low = 0.001, got 0.0"),
    "negative std": ("weight = 1e-3", 'weight = { distribution = "normal", mean = 1, std = -1 }',
                     "projection[0].weight", "Normal.std must be >= 0.0, got -1"),
    "normal bounds swapped": ("weight = 1e-3", 'weight = { distribution = "normal", mean = 1, '
                              "std = 1, low = 2, high = 1 }", "projection[0].weight",
                              "Normal.high must be >= low = 2.0, got 1.0"),
    "distribution value not a number": ("weight = 1e-3", 'weight = { distribution = '
                                        '"lognormal", mu = "a", sigma = 1 }',
                                        "projection[0].weight",
                                        "LogNormal.mu must be a real number, got 'a'"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_give_one_line_and_status_2(case, tmp_path, capsys):
    old, new, key, words = BROKEN[case]
    assert old in GOOD
    path = tmp_path / "net.toml"
    path.write_text(GOOD.replace(old, new, 1))
    status, out, err = check(path, capsys)
    assert status == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    m = ERROR.match(err.rstrip("\n"))
    assert m and m["file"].rstrip(":") == str(path), err
    if key:
        assert m["rest"].startswith(key + ": "), err
    assert words in m["rest"], err
    assert "Traceback" not in err


def test_a_key_valid_for_some_rule_is_no_misspelling():
    with pytest.raises(netfile.NetFileError, match=r"projection\[0\]\.pre: missing required key: "
                                                   r"expected a string$"):
        netfile.parse(GOOD.replace('pre = "noise"', "pre_ids = [0]"))


def test_a_good_current_target_builds():
    built = netfile.build(netfile.parse(GOOD.replace("[[projection]]\n", CURRENT.format("exc")
                                                     + "[[projection]]\n")))
    assert built.net.currents[0].target is built.objects["exc"]


def test_recorder_errors_name_the_recorder(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(GOOD.replace('kind = "rate"\npopulation = "exc"\nbin_width = 1e-3',
                                 'kind = "state"\npopulation = "exc"\nevery = 1\nids = [50]'))
    with pytest.raises(netfile.NetFileError, match=r"record\[0\].ids: StateRecorder.ids must be "
                                                   r"in \[0, 39\], got 50$"):
        netfile.load_network(path, ss.H5Output(tmp_path / "out.h5"))


def test_warnings_of_a_file_show_once(tmp_path, capsys):
    import warnings

    path = tmp_path / "net.toml"
    path.write_text(GOOD.replace("weight = 1e-3", "weight = 1e-3\ndelay = 0.5") + """
[[input]]
kind = "pulse"
target = "exc"
params = { start = 1.5e-4, width = 1e-3, amplitude = 1e-12 }
""")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        netfile.load_network(path).net.run(0.3)  # three chunks
    messages = [str(w.message) for w in got]
    assert len(messages) == 2, messages
    assert messages[0].startswith("PulseCurrent.start = 0.00015 s is not a whole number of "
                                  "steps of dt = 0.0001 s")
    assert messages[1].startswith("delay (noise -> exc) = 0.5 s is longer than 0.1 s")
    status, out, err = check(path, capsys)  # one line each on stderr
    assert status == 0 and err.splitlines() == [f"spikesim: warning: {m}" for m in messages]


def test_a_drawn_delay_typed_in_milliseconds_warns_once(tmp_path):
    import warnings

    path = tmp_path / "net.toml"
    path.write_text(GOOD.replace("weight = 1e-3", 'weight = 1e-3\ndelay = { distribution = '
                                 '"uniform", low = 0.5, high = 0.9 }'))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        netfile.load_network(path)  # drawn when the network is built
    messages = [str(w.message) for w in got]
    assert len(messages) == 1 and "(the longest value) is longer than 0.1 s" in messages[0]


def test_good_file_checks(tmp_path, capsys):
    path = tmp_path / "net.toml"
    path.write_text(GOOD)
    status, out, err = check(path, capsys)
    assert status == 0 and err == ""
    assert "ok: 1 population (40 neurons), 1 spike source, " in out


@pytest.mark.parametrize("what", ["missing", "folder", "binary"])
def test_unreadable_files(what, tmp_path, capsys):
    path = tmp_path / "net.toml"
    if what == "folder":
        path.mkdir()
    elif what == "binary":
        path.write_bytes(b"\xff\xfe\x00\x01")
    status, _, err = check(path, capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"spikesim check: error: {path}: ")


TOKENS = ["0", "-1", "1", "2.5", "1e-3", "-0.5", '"x"', '"LIF"', '"exc"', '"i_inh"', "true",
          "[]", "[1, 2]", "[[1], [2]]", "{}", '{ distribution = "uniform", low = 0, high = 1 }',
          '{ distribution = "normal", mean = 0 }', "nan", "inf", "-inf", "1e300", "7", "3000",
          '"float32"', '"random"', '"state"', "[0.1, 0.2]", '["v", "w"]', '"exact"', "0.3"]
KEYS = ["n", "name", "model", "p", "k", "weight", "delay", "rule", "kind", "tau_mem", "bogus",
        "rate", "target", "pre", "post", "ids", "every", "bin_width", "v_init", "receptor", "dt"]
HEADERS = ["[[population]]", "[network]", "[[record]]", "[[input]]", "[population.params]"]


def mutate(text: str, rng: random.Random) -> str:
    """Delete, replace, rename or truncate a few key/value lines, or insert a table header."""
    lines = text.splitlines()
    for _ in range(rng.choice((1, 1, 2, 3))):
        pairs = [i for i, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
        i = rng.choice(pairs)
        key, _, value = lines[i].partition("=")
        op = rng.random()
        if op < 0.2:
            del lines[i]
        elif op < 0.6:
            inner = re.findall(r"(\w+) = ", value)
            if value.strip().startswith("{") and inner and rng.random() < 0.5:
                k = rng.choice(inner)
                lines[i] = key + "=" + re.sub(rf"\b{k} = [^,}}]+", f"{k} = {rng.choice(TOKENS)}",
                                              value, count=1)
            else:
                lines[i] = key + "= " + rng.choice(TOKENS)
        elif op < 0.8:
            lines[i] = rng.choice(KEYS) + " =" + value
        elif op < 0.9:
            lines.insert(rng.randrange(len(lines)), rng.choice(HEADERS))
        else:
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines) + "\n"


def test_fuzzed_files_never_escape(tmp_path, capsys):
    """200 seeded mutations of the shipped files (smaller sizes): status 0 or 2 only, errors
    in one line, no traceback."""
    bases = [DEMO_TOML] + [p.read_text() for p in TOMLS]
    bases = [re.sub(r"^n = \d+", "n = 20", b, flags=re.M).replace("batch = 500", "batch = 5")
             for b in bases]
    rng = random.Random(1234)
    seen = {0: 0, 2: 0}
    for m in range(200):
        path = tmp_path / f"m{m}.toml"
        path.write_text(mutate(rng.choice(bases), rng))
        status, out, err = check(path, capsys)
        assert status in (0, 2), (path.read_text(), err)
        lines = [ln for ln in err.splitlines() if not ln.startswith("spikesim: warning:")]
        assert "Traceback" not in err
        if status == 2:
            assert len(lines) == 1 and ERROR.match(lines[0]), err
        seen[status] += 1
    assert seen[0] > 0 and seen[2] > 100


def test_a_projection_beyond_int32_synapses_is_left_to_the_memory_check(monkeypatch):
    # the engine indexes synapses with int64: a file is not held to 2**31 − 1 per projection
    # (it was, with an error citing int32 indices); what refuses it is the build's memory check
    monkeypatch.setattr(layout, "_available_bytes", lambda: 2 << 30)  # 2 GiB
    spec = netfile.parse('[network]\ndt = 1e-3\nduration = 0.01\n'
                         '[[population]]\nname = "exc"\nmodel = "LIF"\nn = 50000\n'
                         'params = { units = "1" }\n'
                         '[[projection]]\npre = "exc"\npost = "exc"\nrule = "all_to_all"\n'
                         'weight = 0.1\n')
    with pytest.raises(netfile.NetFileError, match=r"MemoryError: .* the projection 'exc' -> "
                                                   r"'exc' \('all_to_all'\): 2\.5e\+09 syn"):
        netfile.build(spec)


def test_the_memory_check_comes_before_any_parameter_is_drawn(monkeypatch):
    """A file's parameters are drawn before the build to name errors at their keys: the
    memory check comes first, or 2e8 neurons' drawn v_init would take GBs before it."""
    monkeypatch.setattr(layout, "_available_bytes", lambda: 2 << 30)  # 2 GiB
    spec = netfile.parse('[network]\ndt = 1e-3\nduration = 0.01\n'
                         '[[population]]\nname = "big"\nmodel = "LIF"\nn = 200000000\n'
                         'v_init = { distribution = "uniform", low = 0.0, high = 0.5 }\n'
                         'params = { units = "1" }\n')

    def drawn(*args, **kw):
        raise AssertionError("a parameter was drawn before the memory check")

    monkeypatch.setattr(ss.LIF, "initial_state", drawn)
    monkeypatch.setattr(ss.LIF, "table", drawn)
    with pytest.raises(netfile.NetFileError, match=r"MemoryError: building this network needs "
                                                   r"about 7\.6 GiB.*the neuron state: 7\.6"):
        netfile.build(spec)


def test_settings_equal_the_file_edited_by_hand():
    edited = GOOD.replace("n = 40\n", "n = 25\n").replace("tau_mem = 20e-3", "tau_mem = 0.03")
    edited = edited.replace("p = 0.1\n", "p = 0.3\n").replace("seed = 1\n", "seed = 4\n")
    by_hand = netfile.parse(edited)
    for settings in (["exc.n=25", "exc.params.tau_mem=0.03", "projection[0].p=0.3",
                      "network.seed=4"],
                     ["population[0].n = 25", "population[0].params.tau_mem=3e-2",
                      "projection[0].p=0.3", "network.seed=4"]):
        spec = netfile.parse(GOOD, settings=settings)
        assert spec.network == by_hand.network
        assert spec.populations[0].fields == by_hand.populations[0].fields
        assert spec.populations[0].params == by_hand.populations[0].params
        assert spec.projections[0].params == by_hand.projections[0].params
        a, b = netfile.build(spec).net, netfile.build(by_hand).net
        np.testing.assert_array_equal(a.tables.col, b.tables.col)


def test_settings_take_toml_values_or_words():
    spec = netfile.parse(GOOD, settings=[
        'exc.params.v_th={ distribution = "uniform", low = -52e-3, high = -50e-3 }',
        "exc.params.method=exact", 'exc.model="LIF"', "network.dtype=float32",
        "noise.params.rate=12", "exc.params.refractory=2e-3"])  # a key the file lacks: added
    p = spec.populations[0].params
    assert isinstance(p["v_th"], ss.Uniform) and p["method"] == "exact"
    assert p["refractory"] == 2e-3 and spec.network["dtype"] == "float32"
    assert spec.inputs[0].params["rate"] == 12


@pytest.mark.parametrize("setting, message", [
    ("network.dt", r"--set network\.dt: expected KEY=VALUE"),
    ("=3", r"expected KEY=VALUE"),
    ("projection[3].p=0.1", r"there is no projection\[3\]: the file has 1 \[\[projection\]\] "
                            r"table$"),
    ("inh.n=3", r'no population, input or projection named "inh"; a key path starts'),
    ("ecx.n=3", r'named "ecx" \(did you mean "exc"\?\)'),
    ("netwrok.dt=1e-4", r'named "netwrok" \(did you mean "network"\?\)'),
    ("population[0]=3", r"population\[0\] is a whole \[\[population\]\] table"),
    ("exc.params.tau_mem.low=0", r'"tau_mem" is not a table'),
    # then checked as the file's own values are, the setting named
    ("network.dt=-1", r"network\.dt: .*> 0.* \(given by --set network\.dt=-1\)$"),
    ("exc.params.tau_mme=0.02", r"population\[0\]\.params\.tau_mme: unknown key.*"
                                r"\(given by --set exc\.params\.tau_mme=0\.02\)$"),
])
def test_settings_errors_are_one_line_naming_the_setting(setting, message):
    with pytest.raises(netfile.NetFileError, match=message):
        netfile.parse(GOOD, settings=[setting])


def test_a_value_set_and_refused_at_build_names_the_setting():
    spec = netfile.parse(GOOD, settings=["exc.params.tau_mem=-1", "network.seed=3"])
    with pytest.raises(netfile.NetFileError, match=r"population\[0\]\.params\.tau_mem: "
                                                   r"LIF\.tau_mem must be > 0.* \(given by "
                                                   r"--set exc\.params\.tau_mem=-1\)$"):
        netfile.build(spec)


def test_a_setting_by_a_name_that_several_tables_have_is_refused():
    text = GOOD + '\n[[input]]\nname = "exc"\nkind = "constant"\ntarget = "exc"\n' \
                  'params = { amplitude = 1e-9 }\n'
    netfile.parse(text)  # (a current may be named as its population)
    with pytest.raises(netfile.NetFileError, match=r'"exc" names population\[0\], input\[1\]'):
        netfile.parse(text, settings=["exc.params.amplitude=2e-9"])


F32_CURRENT_NET = """\
[network]
dt = 1e-3
duration = 0.01
dtype = "float32"

[[population]]
name = "p"
model = "LIF"
n = 2
params = {{ units = "1" }}

[[input]]
{current}
target = "p"
"""

F32_CURRENTS = {  # the first step's value is in range for step and pulse: only later ones are not
    "constant": ('kind = "constant"\nparams = { amplitude = 1e39 }', "input[0].params.amplitude"),
    "step": ('kind = "step"\nparams = { times = [0.0, 0.005], amplitudes = [0.0, -1e39] }',
             "input[0].params.amplitudes"),
    "pulse": ('kind = "pulse"\nparams = { start = 0.004, width = 0.002, amplitude = 1e39 }',
              "input[0].params.amplitude"),
    "current_array": ('kind = "current_array"\nparams = { values = [0.0, 0.0, 1e39] }',
                      "input[0].params.values"),
}


@pytest.mark.parametrize("kind", list(F32_CURRENTS))
def test_a_current_beyond_float32_is_refused_by_check_naming_it(kind, tmp_path, capsys):
    """a float32 network whose given current is beyond float32's range is refused by `spikesim
    check` (and at build, before any file is written), naming the parameter — not accepted
    by check and then failing mid-run with status 1 and no key."""
    current, key = F32_CURRENTS[kind]
    path = tmp_path / "net.toml"
    path.write_text(F32_CURRENT_NET.format(current=current))
    status = cli.main(["check", str(path)])
    _, err = capsys.readouterr()
    assert status == 2, err
    assert f"{path}: {key}: " in err and "float32" in err, err
    out = tmp_path / "out.h5"
    status = cli.main(["run", str(path), "-o", str(out), "-q"])
    _, err = capsys.readouterr()
    assert status == 2 and f"{key}: " in err, err
    assert not out.exists()  # refused before anything was written
    assert 'use dtype = "float64" in [network]' in err  # (the file's words, not Python's)
    # float64 holds it
    netfile.build(netfile.read(path, settings=["network.dtype=float64"]))


def test_a_file_with_a_byte_order_mark_reads_as_without(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert netfile.read(path).network == netfile.parse(GOOD).network


def test_an_empty_receptor_is_refused_not_read_as_the_default():
    bad = GOOD.replace('rule = "random"', 'rule = "random"\nreceptor = ""', 1)
    assert bad != GOOD
    with pytest.raises(netfile.NetFileError, match=r"receptor must be one of 'i', got ''"):
        netfile.build(netfile.parse(bad))


NOT_A_LIST_NET = "{section} = 3\n[network]\ndt = 1e-3\nduration = 0.01\n"


@pytest.mark.parametrize("section", ["population", "input", "projection"])
def test_a_setting_by_name_in_a_malformed_file_is_a_one_line_error(section, tmp_path, capsys):
    """--set by a name, in a file whose [[population]] (or input, projection) is not an array
    of tables, gives the file's one-line error (status 2), not a TypeError (status 1)."""
    path = tmp_path / "net.toml"
    path.write_text(NOT_A_LIST_NET.format(section=section))
    with pytest.raises(netfile.NetFileError, match=rf"{section}: expected an array of tables"):
        netfile.read(path, settings=["exc.n=3"])
    status = cli.main(["check", str(path), "--set", "exc.n=3"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(f"spikesim check: error: {path}: {section}: expected an array"), err


BUILD_KEYS_NET = """\
[network]
dt = 1e-4
duration = 0.01
dtype = "float32"

[[population]]
name = "p"
model = "LIF"
n = 4
params = { tau_syn_inh = 0.01, units = "1" }

[[projection]]
pre = "p"
post = "p"
rule = "all_to_all"
weight = 0.1
"""

BUILD_KEYS = {  # setting: the key the error must name
    "p.params.v_th=1e39": "population[0]",
    "p.v_init=1e39": "population[0].v_init",
    'projection[0].weight={ distribution = "normal", mean = 1e39, std = 1.0 }':
        "projection[0].weight",
    'projection[0].delay={ distribution = "uniform", low = 2e-4, high = 10.0 }':
        "projection[0].delay",
}


@pytest.mark.parametrize("setting", list(BUILD_KEYS))
def test_a_value_refused_at_build_names_its_entry(setting):
    """values refused when the network is built (beyond float32's range; drawn delays beyond
    the longest, 32767 steps) are reported at the key of the entry that gave them, not at
    "network"."""
    settings = [setting]
    spec = netfile.parse(BUILD_KEYS_NET, "net.toml", settings=settings)
    with pytest.raises(netfile.NetFileError) as e:
        netfile.build(spec)
    assert e.value.key == BUILD_KEYS[setting], str(e.value)


def test_a_poisson_drive_weight_beyond_float32_names_it():
    text = BUILD_KEYS_NET + '[[input]]\nkind = "poisson_drive"\ntarget = "p"\n' \
                 'params = { rate = 100.0, weight = 1e39 }\n'
    with pytest.raises(netfile.NetFileError) as e:
        netfile.build(netfile.parse(text, "net.toml"))
    assert e.value.key == "input[0].params.weight", str(e.value)


def test_brunel_file_equals_the_built_in_network():
    """examples/brunel.toml shrunk by --set (400 + 100 neurons, C_E = 40, C_I = 10; the
    drive, C_E·ν_ext = η·θ/(J·τ), does not depend on C_E) against networks.brunel(400)."""
    shrink = ["exc.n=400", "inh.n=100", "projection[0].k=40", "projection[1].k=40",
              "projection[2].k=10", "projection[3].k=10"]
    built = netfile.build(netfile.read(EXAMPLES / "brunel.toml", shrink))
    built.net.run(0.1)
    net = networks.brunel(400, seed=0)
    mons = [net.add(ss.SpikeMonitor(p)) for p in net.populations]
    net.run(0.1)
    for (_, got), want in zip(built.monitors, mons):
        same_spikes(got.spikes, want.spikes)
