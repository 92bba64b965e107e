"""The war room: one collector polls, every console and browser tab attached to it shows its
Snapshots, and actions may run through its connections.

Channel: a unix socket in the runtime dir, newline-delimited JSON. Why not the recording (which
every console can already read)? A socket is push (a poll reaches the screens the moment it is
made, not at the next read of a file), it tells the collector who is watching (the header's
"also attached"), it carries actions back to the collector's connections (when the pool is
exhausted a late console cannot connect at all), and its end is seen at once (a killed
collector closes it), so the consoles know to poll on their own. The kernel tells each side
who the other is (SO_PEERCRED), so only this user, root or a configured group may attach.
"""
