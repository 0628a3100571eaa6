"""Schema migrations, one module per version (``vNNNN_name.py`` with ``upgrade(conn)``).

Each module describes the tables as they were at that version, never importing the live
table definitions, so that an old migration keeps meaning the same thing forever.
"""
