"""The detector as it was before the per-sample cost work (2026-11-26), frozen.

Only `test_detector_equivalence.py` uses it: the optimised `hullwatch.daemon`
detector must decide exactly as this copy does. Do not edit it to follow
changes in the daemon; a change of behaviour there is a new reference.
"""
