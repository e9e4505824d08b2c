"""The settings room: what the user configured, checked before anything starts.

What it holds: the configuration models and their cross-checks (`config`),
environment overrides (`config_env`), each chip's allowed settings derived from
the driver descriptors (`chip_settings`), `hullwatch check-config`
(`check_config`), and the warnings about loose secrets (`secret_hygiene`).

What it may import: the standard library, pydantic, the drivers' descriptors,
`daemon/exit_codes.py`. What it must never import: delivery, service, the
tools, the simulator (`tests/test_architecture.py`).
"""
