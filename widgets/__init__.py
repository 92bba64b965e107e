"""Textual panes and editors. They render Snapshots and post messages; they do no I/O."""
