"""Pictures of expression graphs and tapes: ``dl.draw`` (``picture.py``) and ``Tape.draw``.

``graph`` turns a plan-like description (ops, arguments, values, cotangents) into labelled
boxes; ``layout`` places them (graphviz's ``dot`` where it is installed, else grandalf's
Sugiyama layout, pure Python, installed with difflab); ``svg`` writes the picture as SVG text
(and PNG through matplotlib). These three know no differentiator, so the IR's nodes and the
tape can draw themselves in Jupyter without an import cycle.
"""
