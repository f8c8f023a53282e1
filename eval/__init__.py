"""Evaluation harness for unspin: clean corpora, a spinner emulator and the accuracy runs.

Nothing here ships in the wheel. The corpora are read from the shared data directory at run
time (``UNSPIN_SHARED_DATA``, default ``<repo>/../shared/data``); see ``eval/README.md``.
"""
