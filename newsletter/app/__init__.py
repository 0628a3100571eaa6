"""The application layer: the one place that knows the order of the stages.

The CLI, the web pages and the scheduler call it; the stages (sources, match, render,
delivery) never call each other, and the store only stores.

- ``stages``: the stage objects of one run (matcher, renderer, composer) and the database;
- ``ingest``: sources read and stored, the one way papers enter the store from a source;
- ``issue``: the issue a reader gets (for match, preview, the web copy and enqueue);
- ``model_doors``: the language model's three moments (label, widen, rerank), off by default;
- ``model_answers``: what the model said, read back (labels, phrases); ``annotate``: the
  backlog of papers labelled;
- ``readers``: the subscribers folder synced into the store, finding one reader, and the
  operator's reader commands;
- ``arxiv_lookup``: liked papers that no source brought, looked up once in the arXiv API;
- ``bulk``: subscribers imported from and exported to CSV or JSON;
- ``enqueue``: match, render and enqueue today's issues, in one process or several;
- ``queued_issue``: an issue as the outbox keeps it, rendered into its message at send time;
- ``sending``, ``worker``, ``background_send``: the outbox sent by a command, a worker
  process, or off a web page's thread;
- ``run``: fetch -> sync -> enqueue -> send, once (``newsletter run``, ``demo``, a tick);
- ``service``: the scheduler's jobs around ``run`` (``newsletter serve``);
- ``accounts``, ``archive``: what the subscriber pages do and read, without HTTP;
- ``preview``, ``match_report``, ``status``, ``papers``, ``starter``, ``mailers``: what the
  operator's commands show or write, without the command line.
"""
