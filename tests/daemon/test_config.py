"""The configuration room: models, file loading, environment overrides, check-config."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from hullwatch.daemon.settings.check_config import check_config
from hullwatch.daemon.settings.config import (
    MISSING,
    Config,
    ConfigError,
    ConfigProblem,
    FileSecret,
    MqttSettings,
    SensorSettings,
    load_config,
)
from hullwatch.daemon.settings.config_env import field_kind

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "config"
CASES_DIR = Path(__file__).parent / "config_cases"
HULLWATCH = Path(sys.executable).parent / "hullwatch"
SHIPPED_CONFIGS = ["demo.toml", "testbed.toml", "hullwatch.example.toml"]

MINIMAL = """\
station = "lab"

[[zones]]
id = "chamber"
volume_m3 = 0.05
floor_pa = 70000
warning_pa_per_s = 0.2
critical_pa_per_s = 5.0

[[sensors]]
id = "bmp-a"
zone = "chamber"
driver = "bmp388"
bus = "/dev/i2c-1"
address = 0x77
rate_hz = 25
"""


def write(tmp_path: Path, text: str, name: str = "hullwatch.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return caught.value.problems


def by_key(problems: list[ConfigProblem]) -> dict[str, ConfigProblem]:
    return {problem.key_path: problem for problem in problems}


# --- shipped configurations -----------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_config(CONFIG_DIR / name, {})
    assert config.zones
    assert config.sensors


def test_demo_config_describes_the_simulated_chamber() -> None:
    config = load_config(CONFIG_DIR / "demo.toml", {})
    assert config.station == "demo"
    assert (config.mqtt.host, config.mqtt.port) == ("127.0.0.1", 1883)
    (zone,) = config.zones
    assert (zone.id, zone.volume_m3, zone.floor_pa, zone.window_s) == ("chamber", 0.05, 70000, 10)
    assert (zone.warning_pa_per_s, zone.critical_pa_per_s) == (0.2, 5.0)
    (sensor,) = config.sensors
    assert sensor.id == "bmp-a"
    assert sensor.zone == "chamber"
    assert sensor.driver == "bmp388"
    assert sensor.bus == "sim:/tmp/hullwatch-demo/sim.sock"
    assert sensor.address == 0x77
    assert sensor.rate_hz == 25
    assert (sensor.pressure_oversampling, sensor.temperature_oversampling) == (8, 1)
    assert (sensor.iir_coefficient, sensor.mode) == (0, "normal")
    assert config.sensors_in("chamber") == [sensor]
    assert config.zone("chamber") is zone


def test_testbed_config_is_a_pi_with_a_bmp388() -> None:
    config = load_config(CONFIG_DIR / "testbed.toml", {})
    (sensor,) = config.sensors
    assert (sensor.driver, sensor.bus, sensor.address) == ("bmp388", "/dev/i2c-1", 0x77)


def _documents(text: str, key: str) -> bool:
    """`key = ...` or `# key = ...` at the start of a line of `text`."""
    return f"\n{key} = " in text or f"\n# {key} = " in text


def test_example_documents_every_key() -> None:
    """Each key of the schema, at its place: a top-level table or array of tables as its
    header; a top-level scalar (`station`, `state_dir`) as `key = ` or `# key = ` before
    the first header (after one it would belong to that table); table keys anywhere."""
    text = (CONFIG_DIR / "hullwatch.example.toml").read_text(encoding="utf-8")
    top_level, headers, _ = text.partition("\n[")
    assert headers, "the example has no table"
    for key, field in Config.model_fields.items():
        kind, model = field_kind(field.annotation)
        if kind == "scalar":
            assert _documents(top_level, key), f"{key}: not before the first table"
            continue
        header = f"[{key}]" if kind == "table" else f"[[{key}]]"
        assert f"\n{header}\n" in text, header
        assert model is not None
        for inner in model.model_fields:
            assert _documents(text, inner), f"{key}.{inner}"


def test_defaults() -> None:
    config = load_config(CONFIG_DIR / "demo.toml", {})
    mqtt = config.mqtt
    assert mqtt.topic_prefix == "hullwatch"
    assert mqtt.keepalive_s == 30
    assert mqtt.password is None
    assert mqtt.effective_client_id("demo") == "hullwatch-demo"
    assert MqttSettings(client_id="me").effective_client_id("demo") == "me"
    assert (config.logging.level, config.logging.format) == ("info", "auto")
    zone = config.zones[0]
    assert zone.significance_sigma == 5.0
    assert zone.release_fraction == 0.5
    assert zone.reference_temperature_k == 293.15
    assert config.sensors[0].timeout_s == 0.5


def test_a_sensors_own_lag_overrides_the_zones(tmp_path: Path) -> None:
    from hullwatch.daemon.service.service import zone_parameters

    text = MINIMAL.replace(
        "critical_pa_per_s = 5.0\n", "critical_pa_per_s = 5.0\ntemperature_lag_s = 60\n"
    )
    text += """
[[sensors]]
id = "bmp-b"
zone = "chamber"
driver = "bmp390"
bus = "/dev/i2c-1"
address = 0x76
rate_hz = 25
temperature_lag_s = 25
"""
    parameters = zone_parameters(load_config(write(tmp_path, text), {}))[0]
    assert parameters.lag_of("bmp-a") == 60.0
    assert parameters.lag_of("bmp-b") == 25.0
    bad = text.replace("temperature_lag_s = 25", "temperature_lag_s = -1")
    assert "sensors[1].temperature_lag_s" in by_key(problems_of(write(tmp_path, bad)))


def test_models_are_frozen() -> None:
    config = load_config(CONFIG_DIR / "demo.toml", {})
    with pytest.raises(ValidationError):
        config.station = "other"


# --- broken files: each case file lists the problems it must produce -------------


def expected_problems(path: Path) -> list[tuple[str, str]]:
    """`# expect: <key path> | <message fragment>` lines; `(file)` is the file as a whole."""
    expected = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            key_path, _, fragment = line.removeprefix("# expect:").partition("|")
            key_path = key_path.strip()
            expected.append(("" if key_path == "(file)" else key_path, fragment.strip()))
    return expected


@pytest.mark.parametrize("case", sorted(CASES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_broken_file_reports_exactly_its_problems(case: Path) -> None:
    expected = expected_problems(case)
    assert expected, f"{case.name} has no '# expect:' line"
    problems = problems_of(case)
    assert sorted(p.key_path for p in problems) == sorted(key for key, _ in expected)
    for key_path, fragment in expected:
        messages = [p.message for p in problems if p.key_path == key_path]
        assert any(fragment in m for m in messages), (key_path, fragment, messages)
    assert all(p.source == str(case) for p in problems)


def test_several_problems_are_all_reported() -> None:
    problems = problems_of(CASES_DIR / "several_problems.toml")
    assert len(problems) == 9


def test_missing_key_value_is_the_missing_marker() -> None:
    problem = by_key(problems_of(CASES_DIR / "unknown_key_zone.toml"))["zones[0].volume_m3"]
    assert problem.value is MISSING
    assert str(problem).endswith("zones[0].volume_m3 = (missing): required key is missing")


def test_offending_value_is_reported() -> None:
    problem = by_key(problems_of(CASES_DIR / "bad_address.toml"))["sensors[0].address"]
    assert problem.value == 0x40
    assert str(problem) == (
        f"{CASES_DIR / 'bad_address.toml'}: sensors[0].address = 64: "
        "a bmp388 answers only at 0x76 or 0x77, not 0x40"
    )


def test_syntax_error_is_one_problem_with_line_and_column() -> None:
    (problem,) = problems_of(CASES_DIR / "syntax_error.toml")
    assert problem.key_path == ""
    assert "line 5, column 8" in problem.message


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    (problem,) = problems_of(path)
    assert problem.source == str(path)
    assert "No such file" in problem.message


def test_directory_is_a_problem(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path)
    assert "cannot read" in problem.message


def test_config_error_message_lists_problems() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CASES_DIR / "port_out_of_range.toml", {})
    assert "1 configuration problem:" in str(caught.value)
    assert "mqtt.port = 70000" in str(caught.value)


# --- single-table checks -----------------------------------------------------------


def sensor(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": "s",
        "zone": "z",
        "driver": "bmp390",
        "bus": "/dev/i2c-1",
        "address": 0x76,
        "rate_hz": 25,
    }
    fields.update(changes)
    return fields


def test_rate_limit_is_what_the_driver_can_do() -> None:
    """x8/x1 takes 18.969 ms (datasheet 3.9.2). In normal mode the chip needs an ODR
    period longer than that and an ODR at least the rate: 20 ms, so 50 Hz at most.
    In forced mode the driver waits 15 % longer per read: 45.8 Hz."""
    SensorSettings.model_validate(sensor(rate_hz=50))
    with pytest.raises(ValidationError, match=r"cannot sample at 51 Hz.*18\.969 ms"):
        SensorSettings.model_validate(sensor(rate_hz=51))
    SensorSettings.model_validate(sensor(rate_hz=45, mode="forced"))
    with pytest.raises(ValidationError, match=r"forced mode.*21\.814 ms with margin"):
        SensorSettings.model_validate(sensor(rate_hz=46, mode="forced"))
    SensorSettings.model_validate(sensor(rate_hz=100, pressure_oversampling=1))


def test_ms5611_takes_its_own_oversampling_and_rate_limit() -> None:
    settings = SensorSettings.model_validate(
        sensor(driver="ms5611", pressure_oversampling=1024, rate_hz=50)
    )
    assert settings.tuning.pressure_oversampling == 1024
    with pytest.raises(
        ValidationError, match="takes pressure_oversampling one of 256, 512, 1024, 2048 or 4096"
    ):
        SensorSettings.model_validate(sensor(driver="ms5611", pressure_oversampling=8))
    with pytest.raises(ValidationError, match="has no iir_coefficient setting"):
        SensorSettings.model_validate(sensor(driver="ms5611", iir_coefficient=3))
    with pytest.raises(ValidationError, match="rate_hz"):
        SensorSettings.model_validate(sensor(driver="ms5611", rate_hz=100))


def _only_rate_error(**changes: object) -> str:
    """The message of the one problem of `sensor(**changes)`, which must be its rate."""
    with pytest.raises(ValidationError) as caught:
        SensorSettings.model_validate(sensor(**changes))
    (error,) = caught.value.errors()
    assert error["loc"] == ("rate_hz",)
    return error["msg"]


def test_an_ms5611_at_osr_4096_refuses_a_rate_above_its_conversions() -> None:
    """Two conversions of 9.04 ms at OSR 4096, 10 % margin each: 50.3 Hz at most."""
    message = _only_rate_error(
        driver="ms5611", address=0x77, pressure_oversampling=4096, rate_hz=60
    )
    assert message == (
        "Value error, a ms5611 cannot sample at 60 Hz with pressure_oversampling = 4096: "
        "a D2 and a D1 conversion take 19.89 ms with margin "
        '(datasheet "ELECTRICAL CHARACTERISTICS"), so at most 50.3 Hz; '
        "lower the oversampling or the rate"
    )
    # The default oversampling is 4096 too, and a lower one is faster.
    with pytest.raises(ValidationError, match=r"a ms5611 cannot sample at 60 Hz"):
        SensorSettings.model_validate(sensor(driver="ms5611", address=0x77, rate_hz=60))
    SensorSettings.model_validate(
        sensor(driver="ms5611", address=0x77, pressure_oversampling=2048, rate_hz=60)
    )


def test_a_bmp390_at_x32_pressure_oversampling_refuses_50_hz() -> None:
    """x32/x1 measures for 67.449 ms (datasheet 3.9.2): the fastest ODR is 12.5 Hz."""
    assert _only_rate_error(pressure_oversampling=32, rate_hz=50) == (
        'Value error, a bmp390 cannot sample at 50 Hz with mode = "normal", '
        "pressure_oversampling = 32, temperature_oversampling = 1: one measurement takes "
        "67.449 ms (datasheet 3.9.2), so the fastest normal-mode ODR is 12.5 Hz "
        "(odr_sel 4, datasheet 4.3.19); lower the oversampling or the rate"
    )
    SensorSettings.model_validate(sensor(pressure_oversampling=32, rate_hz=12.5))


def test_an_invalid_setting_is_reported_once_not_again_as_a_rate() -> None:
    with pytest.raises(ValidationError) as caught:
        SensorSettings.model_validate(sensor(pressure_oversampling=3, rate_hz=50))
    assert [e["loc"] for e in caught.value.errors()] == [("pressure_oversampling",)]


@pytest.mark.parametrize("address", [0x76, 0x77, "0x77", "118"])
def test_address_accepts_ints_and_integer_strings(address: object) -> None:
    assert SensorSettings.model_validate(sensor(address=address)).address in {0x76, 0x77}


def test_choices_ignore_case() -> None:
    settings = SensorSettings.model_validate(sensor(driver="BMP390", mode="Forced"))
    assert (settings.driver, settings.mode) == ("bmp390", "forced")


@pytest.mark.parametrize("bus", ["/dev/i2c-0", "/dev/i2c-12", "sim:/run/hullwatch/sim.sock"])
def test_good_bus_specs(bus: str) -> None:
    assert SensorSettings.model_validate(sensor(bus=bus)).bus == bus


@pytest.mark.parametrize("bus", ["", "/dev/i2c-", "/dev/i2c-01", "/dev/spidev0.0", "sim:", "sim:/"])
def test_bad_bus_specs(bus: str) -> None:
    with pytest.raises(ValidationError, match="expected /dev/i2c-<n>"):
        SensorSettings.model_validate(sensor(bus=bus))


@pytest.mark.parametrize("prefix", ["", "a/+/b", "a/#", "/a", "a/", "a//b"])
def test_bad_topic_prefixes(prefix: str) -> None:
    with pytest.raises(ValidationError):
        MqttSettings(topic_prefix=prefix)


def test_topic_prefix_may_have_levels() -> None:
    assert MqttSettings(topic_prefix="site/lab").topic_prefix == "site/lab"


def test_config_built_directly_runs_the_checks_across_tables() -> None:
    data = {
        "station": "lab",
        "zones": [{"id": "z", "volume_m3": 1, "floor_pa": 1, "warning_pa_per_s": 1,
                   "critical_pa_per_s": 2}],
        "sensors": [sensor(zone="nowhere")],
    }  # fmt: skip
    with pytest.raises(ValidationError, match=r"sensors\[0\]\.zone: no zone has this id"):
        Config.model_validate(data)


# --- MQTT files --------------------------------------------------------------------


def test_password_file_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("hunter2\n", encoding="utf-8")
    path = write(tmp_path, MINIMAL + '[mqtt]\npassword_file = "mqtt.secret"\n')
    mqtt = load_config(path, {}).mqtt
    assert isinstance(mqtt.password, FileSecret)
    assert mqtt.password.get_secret_value() == "hunter2"
    assert mqtt.password_file == tmp_path / "mqtt.secret"  # relative to the config file
    assert "hunter2" not in repr(mqtt)


def test_password_and_password_file_are_exclusive(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("hunter2\n", encoding="utf-8")
    mqtt = '[mqtt]\npassword = "x"\npassword_file = "mqtt.secret"\n'
    problems = by_key(problems_of(write(tmp_path, MINIMAL + mqtt)))
    assert list(problems) == ["mqtt.password_file"]
    assert "not both" in problems["mqtt.password_file"].message


def test_empty_password_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("\n", encoding="utf-8")
    path = write(tmp_path, MINIMAL + '[mqtt]\npassword_file = "mqtt.secret"\n')
    (problem,) = problems_of(path)
    assert (problem.key_path, problem.message) == (
        "mqtt.password_file",
        f"{tmp_path / 'mqtt.secret'} is empty",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_password_file_is_a_problem(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.secret"
    secret.write_text("hunter2\n", encoding="utf-8")
    secret.chmod(0)
    path = write(tmp_path, MINIMAL + '[mqtt]\npassword_file = "mqtt.secret"\n')
    (problem,) = problems_of(path)
    assert "Permission denied" in problem.message


def test_password_file_that_is_a_directory_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    path = write(tmp_path, MINIMAL + '[mqtt]\npassword_file = "secrets"\n')
    (problem,) = problems_of(path)
    assert problem.key_path == "mqtt.password_file"
    assert problem.message == f"{tmp_path / 'secrets'} is not a file"


def test_tls_files(tmp_path: Path) -> None:
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("-----BEGIN-----\n", encoding="utf-8")
    tls = '[mqtt]\ntls_ca_file = "ca.crt"\ntls_cert_file = "client.crt"\n'
    problem = by_key(problems_of(write(tmp_path, MINIMAL + tls)))["mqtt.tls_key_file"]
    assert problem.value is MISSING
    assert "tls_key_file must be set too" in problem.message

    mqtt = load_config(write(tmp_path, MINIMAL + tls + 'tls_key_file = "client.key"\n'), {}).mqtt
    assert mqtt.tls_key_file == tmp_path / "client.key"

    key_only = '[mqtt]\ntls_key_file = "client.key"\n'
    problem = by_key(problems_of(write(tmp_path, MINIMAL + key_only)))["mqtt.tls_key_file"]
    assert "needs tls_cert_file" in problem.message

    absent_ca = '[mqtt]\ntls_ca_file = "nope.crt"\n'
    problem = by_key(problems_of(write(tmp_path, MINIMAL + absent_ca)))["mqtt.tls_ca_file"]
    assert problem.message == f"no such file: {tmp_path / 'nope.crt'}"


# --- environment overrides ----------------------------------------------------------


def test_env_overrides_port_and_password() -> None:
    environ = {"HULLWATCH_MQTT__PORT": "18830", "HULLWATCH_MQTT__PASSWORD": "s3cret"}
    config = load_config(CONFIG_DIR / "demo.toml", environ)
    assert config.mqtt.port == 18830
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret"


def test_env_overrides_station_and_coerces_strings() -> None:
    environ = {
        "HULLWATCH_STATION": "lab-2",
        "HULLWATCH_MQTT__TLS_VERIFY_HOSTNAME": "false",
        "HULLWATCH_LOGGING__LEVEL": "DEBUG",
        "HULLWATCH_ZONES__CHAMBER__WINDOW_S": "60",
        "HULLWATCH_SENSORS__0__PRESSURE_OVERSAMPLING": "4",
        "HULLWATCH_SENSORS__0__ADDRESS": "0x76",
    }
    config = load_config(CONFIG_DIR / "demo.toml", environ)
    assert config.station == "lab-2"
    assert config.mqtt.tls_verify_hostname is False
    assert config.logging.level == "debug"
    assert config.zones[0].window_s == 60
    assert config.sensors[0].pressure_oversampling == 4
    assert config.sensors[0].address == 0x76


def test_env_overrides_sensor_bus_by_index() -> None:
    config = load_config(CONFIG_DIR / "demo.toml", {"HULLWATCH_SENSORS__0__BUS": "/dev/i2c-3"})
    assert config.sensors[0].bus == "/dev/i2c-3"


@pytest.mark.parametrize("selector", ["BMP_A", "bmp-a", "Bmp_A"])
def test_env_overrides_sensor_bus_by_id(selector: str) -> None:
    environ = {f"HULLWATCH_SENSORS__{selector}__bus": "/dev/i2c-3"}
    config = load_config(CONFIG_DIR / "demo.toml", environ)
    assert config.sensors[0].bus == "/dev/i2c-3"


def test_env_unknown_key_is_a_problem_naming_the_variable() -> None:
    (problem,) = problems_of(CONFIG_DIR / "demo.toml", {"HULLWATCH_MQTT__PROT": "1884"})
    assert problem.source == "HULLWATCH_MQTT__PROT"
    assert (problem.key_path, problem.value) == ("mqtt.prot", "1884")
    assert problem.message == "unknown key 'prot'"


@pytest.mark.parametrize(
    ("variable", "key_path", "fragment"),
    [
        ("HULLWATCH_BROKER__HOST", "broker.host", "unknown section 'broker'"),
        ("HULLWATCH_SENSORS__3__BUS", "sensors[3].bus", "no element at index 3: the file has 1"),
        ("HULLWATCH_SENSORS__BMP_Z__BUS", "sensors[bmp_z].bus", "no element with id 'BMP_Z'"),
        ("HULLWATCH_SENSORS__BMP_A__BAUD", "sensors[0].baud", "unknown key 'baud'"),
        ("HULLWATCH_SENSORS__BUS", "sensors", "__<INDEX or ID>__<KEY>"),
        ("HULLWATCH_MQTT__TLS__CA", "mqtt", "__<KEY>"),
        ("HULLWATCH_STATION__ID", "station", "single value"),
    ],
)
def test_env_overrides_that_do_not_resolve(variable: str, key_path: str, fragment: str) -> None:
    (problem,) = problems_of(CONFIG_DIR / "demo.toml", {variable: "x"})
    assert (problem.source, problem.key_path) == (variable, key_path)
    assert fragment in problem.message


def test_env_value_that_fails_validation_names_the_variable() -> None:
    environ = {"HULLWATCH_MQTT__PORT": "99999", "HULLWATCH_MQTT__PASSWORD": "12"}
    environ["HULLWATCH_MQTT__PASSWORD_FILE"] = "/etc/hostname"
    problems = by_key(problems_of(CONFIG_DIR / "demo.toml", environ))
    assert problems["mqtt.port"].source == "HULLWATCH_MQTT__PORT"
    assert problems["mqtt.port"].value == "99999"
    assert problems["mqtt.password_file"].source == "HULLWATCH_MQTT__PASSWORD_FILE"


def test_env_override_feeds_the_checks_across_tables(tmp_path: Path) -> None:
    second = MINIMAL.split("[[sensors]]")[1].replace("bmp-a", "bmp-b").replace("0x77", "0x76")
    path = write(tmp_path, MINIMAL + "[[sensors]]" + second)
    (problem,) = problems_of(path, {"HULLWATCH_SENSORS__BMP_B__ADDRESS": "0x77"})
    assert (problem.key_path, problem.source) == (
        "sensors[1].address",
        "HULLWATCH_SENSORS__BMP_B__ADDRESS",
    )


def test_env_same_key_twice_is_a_problem() -> None:
    environ = {
        "HULLWATCH_SENSORS__0__BUS": "/dev/i2c-2",
        "HULLWATCH_SENSORS__BMP_A__BUS": "/dev/i2c-3",
    }
    (problem,) = problems_of(CONFIG_DIR / "demo.toml", environ)
    assert problem.source == "HULLWATCH_SENSORS__BMP_A__BUS"
    assert "already set by HULLWATCH_SENSORS__0__BUS" in problem.message


def test_env_password_is_not_echoed() -> None:
    environ = {
        "HULLWATCH_MQTT__PASSWORD": "s3cret",
        "HULLWATCH_MQTT__PASSWORD_FILE": "/etc/hostname",
    }
    out = io.StringIO()
    check_config(CONFIG_DIR / "demo.toml", stream=out, environ=environ)
    assert "s3cret" not in out.getvalue()


def test_env_non_overrides_are_ignored() -> None:
    environ = {
        "HULLWATCH_CONFIG": "/etc/hullwatch/hullwatch.toml",
        "HULLWATCH_MQTT": "x",
        "hullwatch_mqtt__port": "1",
        "MQTT__PORT": "1",
        "PATH": "/usr/bin",
    }
    assert load_config(CONFIG_DIR / "demo.toml", environ).mqtt.port == 1883


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HULLWATCH_MQTT__PORT", "18831")
    assert load_config(CONFIG_DIR / "demo.toml").mqtt.port == 18831


# --- check_config ---------------------------------------------------------------------


def test_check_config_summary_on_success() -> None:
    out = io.StringIO()
    assert check_config(CONFIG_DIR / "demo.toml", stream=out, environ={}) == 0
    assert out.getvalue() == (f"{CONFIG_DIR / 'demo.toml'}: ok: station 'demo', 1 zone, 1 sensor\n")


def test_check_config_lists_every_problem_and_a_count() -> None:
    path = CASES_DIR / "unknown_key_zone.toml"
    out = io.StringIO()
    assert check_config(path, stream=out, environ={}) == 78
    assert out.getvalue().splitlines() == [
        f"{path}: zones[0].volume_m3 = (missing): required key is missing",
        f"{path}: zones[0].volume = 0.05: unknown key; did you mean 'volume_m3'?",
        f"2 problems in {path}",
    ]


# --- the hullwatch command -------------------------------------------------------------


def run_check_config(path: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HULLWATCH_")}
    env.update(extra_env)
    return subprocess.run(
        [str(HULLWATCH), "check-config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.integration  # starts a process
@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_command_accepts_shipped_configs(name: str) -> None:
    result = run_check_config(CONFIG_DIR / name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok: station" in result.stdout


@pytest.mark.integration  # starts a process
@pytest.mark.parametrize(
    ("case", "key_path"),
    [
        ("bad_address.toml", "sensors[0].address"),
        ("port_out_of_range.toml", "mqtt.port"),
        ("several_problems.toml", "sensors[1].zone"),
        ("syntax_error.toml", "line 5, column 8"),
    ],
)
def test_command_rejects_broken_configs(case: str, key_path: str) -> None:
    result = run_check_config(CASES_DIR / case)
    assert result.returncode == 78, result.stdout + result.stderr
    assert key_path in result.stdout


@pytest.mark.integration  # starts a process
def test_command_names_the_environment_variable() -> None:
    result = run_check_config(CONFIG_DIR / "demo.toml", HULLWATCH_MQTT__PORT="0")
    assert result.returncode == 78, result.stdout + result.stderr
    assert "HULLWATCH_MQTT__PORT: mqtt.port = '0':" in result.stdout
