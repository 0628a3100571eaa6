"""Every live table, in one ``MetaData``: the shape after the latest migration, used by queries.

Migrations (``store/migrations``) keep their own frozen copies of each past shape;
``tests/store/test_migrations.py`` checks that they build exactly this one (indexes, unique
constraints and the server defaults of the first versions included).
"""

from __future__ import annotations

import sqlalchemy as sa

from newsletter.models import ARXIV_ID_CHARS, KEY_CHARS, TITLE_KEY_CHARS
from newsletter.store.packed import PackedJSON

metadata = sa.MetaData()

SUBSCRIBER_STATUSES = ("active", "paused", "unsubscribed")
OUTBOX_STATUSES = ("queued", "sending", "sent", "retrying", "failed", "suppressed")
SUPPRESSION_REASONS = ("bounced", "unsubscribed", "complained")

papers = sa.Table(
    "papers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(KEY_CHARS), nullable=False, unique=True),
    sa.Column("arxiv_id", sa.String(ARXIV_ID_CHARS), index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("author_count", sa.Integer),
    sa.Column("published", sa.Date),
    sa.Column("upvotes", sa.Integer),
    sa.Column("ai_summary", sa.Text),
    sa.Column("ai_keywords", sa.JSON, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("title_key", sa.String(TITLE_KEY_CHARS), index=True),
    sa.Column("code_url", sa.Text),
    # arXiv categories, primary first; NULL: not asked of the arXiv API yet, []: none found
    sa.Column("arxiv_categories", sa.JSON(none_as_null=True)),
)

fetch_state = sa.Table(
    "fetch_state",
    metadata,
    sa.Column("source", sa.String(500), primary_key=True),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("checked_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(40)),
    sa.Column("error", sa.Text),
)

# Liked papers that no source brought, fetched once from the arXiv API ("" title: unknown id).
library_papers = sa.Table(
    "library_papers",
    metadata,
    sa.Column("key", sa.String(KEY_CHARS), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)

# The embedding vectors of papers (and topic phrases), cached per model.
embeddings = sa.Table(
    "embeddings",
    metadata,
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("profile", sa.JSON, nullable=False),  # every Subscriber field but email and name
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    # the file it was synced from, or "web"
    sa.Column("origin", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sent_papers = sa.Table(
    "sent_papers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("paper_key", sa.String(KEY_CHARS), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("email", "paper_key", name="uq_sent_papers_email_key"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("paper_key", sa.String(KEY_CHARS), nullable=False),
    sa.Column("judgment", sa.SmallInteger, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("email", "paper_key", name="uq_feedback_email_key"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("issue_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("message_id", sa.String(300), nullable=False, unique=True),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("to_header", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("provider_id", sa.String(300)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),  # prune
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    # Set on issue rows: their message is rendered when sent, with these pinned templates,
    # from the row's ``outbox_issues`` snapshot. Other rows (confirmations) hold their message.
    sa.Column("template_version", sa.String(64)),
    sa.UniqueConstraint("recipient", "issue_id", name="uq_outbox_recipient_issue"),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

# What one issue row's reader gets (see store/outbox.py), written once at enqueue. It lives
# beside the outbox, not in it, so that the status changes of sending, which copy the whole
# outbox row each time, do not copy it too.
outbox_issues = sa.Table(
    "outbox_issues",
    metadata,
    sa.Column("row_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="CASCADE"),
              primary_key=True, autoincrement=False),
    sa.Column("issue", PackedJSON, nullable=False),
)

# The templates and render settings an enqueued issue was pinned to, by content hash.
template_versions = sa.Table(
    "template_versions",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True)),
)

pending_signups = sa.Table(
    "pending_signups",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("confirmed_at", sa.DateTime(timezone=True)),
)

# Rate limits shared by every process on PostgreSQL (store/limits.py): the next free slot
# ("theoretical arrival time") of each pace, and the events counted per key and time window.
pace = sa.Table(
    "pace",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
)

rate_counts = sa.Table(
    "rate_counts",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("starts", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("ends", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# What a language model answered (llm/contract.py), kept so that a request is never asked
# twice: paper labels and reader phrases by request key (a digest of the prompt version and
# the request's text), rerank scores by reader (a digest of the profile) and paper.
llm_answers = sa.Table(
    "llm_answers",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("reply", sa.JSON, nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
)

rerank_scores = sa.Table(
    "rerank_scores",
    metadata,
    sa.Column("reader", sa.String(64), primary_key=True),
    sa.Column("paper_key", sa.String(KEY_CHARS), primary_key=True),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
)

# What each run asked the model, per use, for `status`.
llm_runs = sa.Table(
    "llm_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("asked", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("tokens", sa.Integer, nullable=False),
)

# When a reader's feedback links were opened ("open"), and the votes a feedback page's script
# recorded ("vote", with the judgment it replaced in ``before``: 0 for none), kept an hour: a
# burst of opens is a scanner, and the votes recorded during it are taken back.
link_opens = sa.Table(
    "link_opens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("paper_key", sa.String(KEY_CHARS), nullable=False),
    sa.Column("judgment", sa.SmallInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("before", sa.SmallInteger),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("link_opens_email_at", "email", "at"),
)

# A web sign-up confirmed by a reader whose profile a subscriber file keeps: the file still
# decides, and the operator is told what the reader asked for at the next sync.
file_reader_signups = sa.Table(
    "file_reader_signups",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
