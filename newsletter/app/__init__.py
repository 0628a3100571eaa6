"""The application layer: the one place that knows the order of the stages.

The CLI, the web pages and the scheduler call it; the stages (sources, match, render,
delivery) never call each other, and the store only stores.

- ``stages``: the stage objects of one run (matcher, renderer, composer);
- ``issue``: the issue a reader gets (for match, preview, the web copy and enqueue);
- ``readers``: the subscribers folder synced into the store, and finding one reader;
- ``arxiv_lookup``: liked papers that no source brought, looked up once in the arXiv API;
- ``bulk``: subscribers imported from and exported to CSV or JSON;
- ``enqueue``: match, render and enqueue today's issues, in one process or several;
- ``queued_issue``: an issue as the outbox keeps it, rendered into its message at send time;
- ``background_send``: the outbox sent off the caller's thread (sign-up confirmations);
- ``run``: fetch -> sync -> enqueue -> send, once (``newsletter run``, ``demo``, a tick);
- ``service``: the scheduler's jobs around ``run`` (``newsletter serve``).
"""
