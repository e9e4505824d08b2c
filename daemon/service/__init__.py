"""The service room: the daemon itself, composed and supervised.

What it holds, along the data flow: one poller per sensor and the guard before
the detector (`poller`, `sample_guard`), the sensor factory (`sensors`), the
zones' alert policy, which turns accepted samples and sensor faults into
decisions and reads no clock (`alert_policy`), telemetry and the thermal-lag
warnings (`telemetry`), the composition of one run of a configuration
(`service.Daemon`), READY/STATUS/watchdog (`supervisor`, over `sd_notify`),
the process with its signals and reloads (`process`), the learned noise on
disk (`noise_store`, `noise_keeper`), logging (`logging_setup`) and the
recording of samples (`recording`).

What it may import: every other room of the daemon and the drivers. What it
must never import: the tools (`cli`, `watch`, `scan`, `replay`, …) and the
simulator (`tests/test_architecture.py`).
"""
