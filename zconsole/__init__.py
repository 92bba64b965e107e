"""zconsole: a terminal incident console for one server in an outage."""

__version__ = "0.1.0"
