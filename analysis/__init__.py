"""Offline analysis of recorded sensor data: `hullwatch characterize`.

This package uses numpy, scipy, allantools and matplotlib (the `analysis`
extra). The daemon never imports it: nothing here runs on the per-sample path.
"""
