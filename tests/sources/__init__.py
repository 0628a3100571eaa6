"""Tests of the source kinds, their HTTP fetching and the parser fuzzing."""
