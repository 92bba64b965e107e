"""The flight recorder: every Snapshot appended to one SQLite file, read back by time.

- :mod:`.db` opens the file (WAL, integrity check on open, schema version);
- :mod:`.codec` turns a Snapshot into compact JSON and back into the check's typed record;
- :mod:`.writer` appends (unchanged data becomes a reference, changed data a zstd delta);
- :mod:`.retention` drops the oldest frames past the age limit or the size cap;
- :mod:`.reader` answers "what did it look like at 03:12?", transitions and key series.

No Textual here: `zconsole record`, `zconsole snapshot --at` and the postmortem export use it
without a screen.
"""
