"""The service room: the daemon itself, composed and supervised.

What it holds: the composition root and alert policy (`service`), one poller
per sensor and the guard before the detector (`poller`, `sample_guard`), the
sensor factory (`sensors`), sample routing to the zones (`zone_router`),
systemd notification (`sd_notify`), the learned noise on disk
(`noise_store`), logging (`logging_setup`) and the recording of samples
(`recording`).

What it may import: every other room of the daemon and the drivers. What it
must never import: the tools (`cli`, `watch`, `scan`, `replay`, …) and the
simulator (`tests/test_architecture.py`).
"""
