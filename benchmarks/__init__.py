"""Benchmarks: synthetic designs from 3 to 5,000 services, timed against same-run floors.

Run ``python -m benchmarks`` (or ``make bench``); ``--quick`` for a short run, ``--format json``
for one JSON document. Figures are ratios to a floor measured in the same process, because
absolute seconds depend on the machine and on whatever else it is running.
"""
