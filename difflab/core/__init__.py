"""The IR core: the op table, expression nodes, the grammar (parser and printer), the
compiled plan, evaluation, shapes, size metrics, the level schedule and the SymPy bridge.

Nothing here knows a differentiator; every differentiator reads this one IR.
"""
