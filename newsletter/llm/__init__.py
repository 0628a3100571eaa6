"""The language model stage: any OpenAI-compatible chat server, asked three things (field
labels per paper, phrases per reader profile, a reranking of a reader's candidates).

Only ``app/`` calls it, and only when ``[llm] base_url`` is set; matching, rendering and
delivery read what was kept, so everything works when nothing was.
"""
