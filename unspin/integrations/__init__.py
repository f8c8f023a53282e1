"""unspin inside other tools' pipelines.

* :mod:`unspin.integrations.datatrove`: :class:`~unspin.integrations.datatrove.UnspinAnnotator`,
  a datatrove pipeline step (``pip install 'unspin[datatrove]'``).

Each integration imports its host library only when it is itself imported.
"""
