"""Full-text search off the message ack path: a search index kept by a background
indexer (server/search_indexer.py) up to a per-conversation watermark, instead of an
index on `messages` maintained inside every message batch.

PostgreSQL: `message_search(message_id, conversation_id, tsv)` with a GIN index on
`tsv`, rows removed with their message (foreign key, cascade); the GIN index on
`to_tsvector(messages.text)` goes. SQLite: `messages_fts` becomes an FTS5 table with its
own copy of the text (the indexer fills it; a delete trigger empties it, whether or not
the message was indexed yet, which an external-content table cannot do safely). Both:
`message_search_progress(conversation_id, indexed_seq)`: every message of the
conversation up to `indexed_seq` is in the index; later ones are searched directly.

Additive for a rolling upgrade on PostgreSQL: older nodes still running search with
`to_tsvector(text) @@ …` on `messages` (correct, slower without the index) and their new
messages are indexed by the new nodes. The backfill indexes every stored message.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _progress_table() -> None:
    op.create_table(
        "message_search_progress",
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("indexed_seq", sa.Integer, nullable=False),
    )


def upgrade() -> None:
    _progress_table()
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS messages_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS messages_fts_delete")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(text)")
        op.execute("INSERT INTO messages_fts(rowid, text) SELECT rowid, text FROM messages")
        op.execute(
            "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
            "DELETE FROM messages_fts WHERE rowid = old.rowid; END"
        )
        # One writer at a time on SQLite: nothing is stored between these statements.
        op.execute(
            "INSERT INTO message_search_progress (conversation_id, indexed_seq) "
            "SELECT id, last_seq FROM conversations WHERE last_seq > 0"
        )
        return
    # The foreign key comes last: adding it locks `messages` against writes until the
    # migration commits, so not during the backfill.
    op.execute(
        "CREATE TABLE message_search ("
        "message_id varchar(32) PRIMARY KEY, "
        "conversation_id varchar(32) NOT NULL, "
        "tsv tsvector NOT NULL)"
    )
    op.execute(
        "INSERT INTO message_search (message_id, conversation_id, tsv) "
        "SELECT id, conversation_id, to_tsvector('simple', text) FROM messages"
    )
    op.execute("CREATE INDEX ix_message_search_tsv ON message_search USING GIN (tsv)")
    # What the backfill saw of each conversation is a prefix of it (a conversation's
    # messages commit in seq order, under its row lock), so its highest seq is a
    # watermark; later messages (older nodes keep writing) are the indexer's.
    op.execute(
        "INSERT INTO message_search_progress (conversation_id, indexed_seq) "
        "SELECT m.conversation_id, max(m.seq) FROM message_search s "
        "JOIN messages m ON m.id = s.message_id GROUP BY m.conversation_id"
    )
    op.execute(
        "ALTER TABLE message_search ADD CONSTRAINT fk_message_search_message_id "
        "FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE NOT VALID"
    )
    # Messages deleted during the backfill, before the key held: their rows go too.
    op.execute(
        "DELETE FROM message_search s "
        "WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = s.message_id)"
    )
    op.execute("DROP INDEX IF EXISTS ix_messages_text_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS messages_fts_delete")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute(
            "CREATE VIRTUAL TABLE messages_fts USING fts5("
            "text, content='messages', content_rowid='rowid')"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
            "INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
            "INSERT INTO messages_fts(messages_fts, rowid, text) "
            "VALUES ('delete', old.rowid, old.text); END"
        )
        op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    else:
        op.execute(
            "CREATE INDEX ix_messages_text_fts ON messages USING GIN (to_tsvector('simple', text))"
        )
        op.execute("DROP TABLE IF EXISTS message_search")
    op.drop_table("message_search_progress")
