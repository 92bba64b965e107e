"""Data collectors. Pure Python: no Textual, no widgets.

Each source is a :class:`~zconsole.checks.base.Check` whose ``collect()`` returns an immutable
:class:`~zconsole.checks.base.Snapshot`.
"""
