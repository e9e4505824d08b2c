"""The detection room: samples in, a level and its figures out.

What it holds: the per-zone detector (`detector`), each sensor's bank of
least-squares windows (`sensor_lines`, `window_bank`, `linear_fit`), the
thermal-lag correction and what the temperature does outside its model
(`thermal_lag`, `thermal_misfit`, `thermal_events`, `lag_estimate`), each
sensor's learned noise (`noise_estimate`, `noise_model`, `noise_prior`), the
false-alarm budget (`false_alarm`, `zone_parameters`), levels and their
physics (`levels`, `assessment`, `physics`), and `small_matrix`.

What it may import: the standard library's pure parts (math, statistics,
dataclasses, collections, …) and its own modules.

What it must never import: anything that does I/O or reads a clock (asyncio,
os, time, socket, sqlite3, logging, structlog, paho), the drivers, the other
rooms of the daemon, or the simulator. Time comes in with the sample, so the
same code runs on a Pi, in accelerated simulation and in replay.
`tests/test_architecture.py` holds it to that.
"""
