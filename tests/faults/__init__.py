"""The fault suite: nothing lost, nothing doubled, nothing wedged, under one fault at a time.

A throwaway stack (Temporal with its SQLite store, so a restart keeps its state) and the three
``memberflow run <part>`` processes carry a steady load while one server or process is killed
or stopped and brought back; afterwards only what is visible from outside (Kafka topics, the
HTTP API, PostgreSQL, Temporal visibility) decides whether anything was lost, doubled or stuck.

Run the small size with ``pytest -m faults tests/faults``, the full size with
``python -m tests.faults.run --requests 2000``.
"""
